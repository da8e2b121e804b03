"""A per-unit table materialised once per analysis run, and how its dimensions are turned into segments.

Every segment-level analysis (segment scan, distribution scan, re-evaluation during ranking) reads the same
per-unit rows; building them from an event log is the expensive step, so it happens once, into a temporary
table on one cursor. Findings still show self-contained SQL: the same statement with the per-unit SQL as a
``units`` common table expression in front (:meth:`UnitTable.display_sql`).

Dimensions: categorical values are compared as text (NULL becomes ``(missing)``); numeric dimensions with
many distinct values are cut into quantile buckets (quartiles by default) whose edges are computed once
and written into the SQL as literals; date and time columns are left out (cohorts of different age have
different observation windows, so their differences are artefacts of the calendar, not of the cohort).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from insights.dataset import Dataset, is_numeric
from insights.engine import TempRelation
from insights.metrics import Metric, build_units_sql
from insights.sql import Params, inline_params, quote_ident, quote_literal

UNITS_TABLE = "units"
MISSING = "(missing)"
BUCKET_MIN_DISTINCT = 13
N_BUCKETS = 4
TIME_PREFIXES = ("DATE", "TIMESTAMP", "TIME", "INTERVAL")


def segment_dimensions(ds: Dataset) -> tuple[str, ...]:
    """The dimensions a segment scan uses: every dimension role except date/time columns."""
    return tuple(d for d in ds.roles.dimensions if not ds.dtype(d).upper().startswith(TIME_PREFIXES))


def _fmt_edge(x: float) -> str:
    return f"{x:,.6g}"


@dataclass
class UnitTable:
    """Per-unit rows in a temporary relation ``units`` (``rel``): metric columns ``m0..``, dimension columns.

    ``buckets`` holds the quantile edges of numeric dimensions; ``segment_sql(d)`` is the SQL expression
    giving a unit's segment label on dimension ``d``.
    """

    ds: Dataset
    rel: TempRelation
    metrics: tuple[Metric, ...]
    dimensions: tuple[str, ...]
    n_units: int
    buckets: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def metric_col(self, metric: Metric) -> str:
        return f"m{self.metrics.index(metric)}"

    def segment_sql(self, dim: str) -> str:
        q = quote_ident(dim)
        edges = self.buckets.get(dim)
        if not edges:
            return f"coalesce(CAST({q} AS VARCHAR), {quote_literal(MISSING)})"
        parts = [f"WHEN {q} IS NULL THEN {quote_literal(MISSING)}"]
        lo = None
        for e in edges:
            label = f"<= {_fmt_edge(e)}" if lo is None else f"{_fmt_edge(lo)} to {_fmt_edge(e)}"
            parts.append(f"WHEN {q} <= {quote_literal(float(e))} THEN {quote_literal(label)}")
            lo = e
        parts.append(f"ELSE {quote_literal('> ' + _fmt_edge(edges[-1]))}")
        return "CASE " + " ".join(parts) + " END"

    def segment_order(self, dim: str, value: str) -> tuple[int, str]:
        """Sort key that keeps numeric buckets in numeric order."""
        edges = self.buckets.get(dim)
        if not edges:
            return (0, value)
        labels = self.bucket_labels(dim)
        return (labels.index(value), value) if value in labels else (len(labels), value)

    def bucket_labels(self, dim: str) -> list[str]:
        edges = self.buckets.get(dim, ())
        out, lo = [], None
        for e in edges:
            out.append(f"<= {_fmt_edge(e)}" if lo is None else f"{_fmt_edge(lo)} to {_fmt_edge(e)}")
            lo = e
        return [*out, "> " + _fmt_edge(edges[-1])] if edges else out

    def query(self, sql: str) -> list[tuple]:
        return self.rel.query(sql)

    def display_sql(self, metric: Metric, dims: Sequence[str], body: str) -> str:
        """Self-contained SQL: the per-unit SQL for ``metric`` and ``dims`` as CTE ``units``, then ``body``.

        ``body`` must read ``units`` and name the metric ``m0``.
        """
        uq = build_units_sql(self.ds, [metric], list(dims))
        return inline_params(f"WITH {UNITS_TABLE} AS (\n{uq.sql}\n),\n{body.removeprefix('WITH ')}"
                             if body.startswith("WITH ") else f"WITH {UNITS_TABLE} AS (\n{uq.sql}\n)\n{body}",
                             uq.params)

    def close(self) -> None:
        self.rel.close()


def prepare_units(ds: Dataset, metrics: Sequence[Metric], dimensions: Sequence[str] | None = None) -> UnitTable:
    """Materialise the per-unit rows for ``metrics`` and ``dimensions`` and find numeric bucket edges."""
    dims = tuple(segment_dimensions(ds) if dimensions is None else dimensions)
    uq = build_units_sql(ds, list(metrics), list(dims))
    rel = TempRelation(ds, uq.sql, uq.params, name=UNITS_TABLE)
    numeric = [d for d in dims if is_numeric(ds.dtype(d))]
    parts = ["count(*)"]
    for d in numeric:
        q = quote_ident(d)
        parts += [f"approx_count_distinct({q})",
                  f"quantile_cont({q}, {[round((i + 1) / N_BUCKETS, 6) for i in range(N_BUCKETS - 1)]})"]
    try:
        row = (rel.query(f"SELECT {', '.join(parts)} FROM {UNITS_TABLE}") or [(0,)])[0]
    except BaseException:
        rel.close()
        raise
    table = UnitTable(ds, rel, tuple(metrics), dims, int(row[0]))
    for i, d in enumerate(numeric):
        distinct, edges = row[1 + 2 * i], row[2 + 2 * i]
        if distinct is not None and distinct >= BUCKET_MIN_DISTINCT and edges:
            uniq = tuple(sorted({float(e) for e in edges if e is not None}))
            if uniq:
                table.buckets[d] = uniq
    return table


def segment_filter(table: UnitTable, dim: str, value: str, p: Params | None = None) -> str:
    """SQL condition: the unit is in segment ``dim = value``."""
    lit = p.add(value) if p is not None else quote_literal(value)
    return f"({table.segment_sql(dim)}) = {lit}"
