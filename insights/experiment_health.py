"""Experiment health: can the assignment be trusted before any effect is read?

Checks, each reported with a plain sentence:

- Sample ratio mismatch: chi-square of units per variant against the planned split (flagged below
  ``srm_threshold``, 0.001 by default, as GrowthBook).
- Inconsistent assignment rows: a column that agrees one-to-one with the variant on the vast majority of
  rows (at least ``SHADOW_MIN_AGREEMENT``) is an *assignment shadow* (e.g. ``landing_page`` beside
  ``group``: control sees old_page). Rows where the two disagree record an assignment that did not
  happen as planned; they are counted and, by default, excluded before units are built.
- Duplicate units (unit tables): rows repeating a unit id already seen; the unit's first row is kept.
- Units seen in several variants and units with no variant: counted and excluded.
- Variants with fewer than ``min_units`` units, and the time span the data covers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from insights.dataset import Dataset
from insights.profile import DataWarning
from insights.sql import Params, quote_ident
from insights.stats import SRMResult

SHADOW_MIN_AGREEMENT = 0.95
PRUNE_SAMPLE_ROWS = 200_000


# A health finding has the same shape as a data warning: a stable ``code`` and one sentence for a PM.
HealthWarning = DataWarning


@dataclass(frozen=True, slots=True)
class Shadow:
    """A column that mirrors the variant (an assignment shadow).

    Attributes
    ----------
    column : str
        The shadow column.
    mapping : dict[str, str]
        Variant value -> the shadow value it normally comes with.
    agreement : float
        Share of rows (both values present) that follow the mapping.
    n_mismatched_rows : int
        Rows that break the mapping.
    """

    column: str
    mapping: dict[str, str]
    agreement: float
    n_mismatched_rows: int


@dataclass(frozen=True, slots=True)
class ExperimentHealth:
    """Everything that decides whether the comparison can be trusted.

    Attributes
    ----------
    srm : SRMResult
        Sample ratio check over the analysed units.
    n_units : int
        Units analysed (one variant each).
    n_multiple_exposures : int
        Units seen in more than one variant (excluded).
    n_null_variant : int
        Units without a variant value (excluded).
    shadow : Shadow or None
        The assignment shadow column found, if any.
    n_mismatched_rows : int
        Rows whose variant disagrees with the shadow column (excluded when ``mismatched_excluded``).
    mismatched_excluded : bool
        Whether those rows were dropped before building units.
    n_duplicate_rows : int
        Unit-table rows repeating a unit (the first row by time, or file order, is kept).
    small_variants : tuple[str, ...]
        Variants with fewer than ``min_units`` units.
    min_units : int
        The threshold for ``small_variants``.
    time_min, time_max : datetime or None
        First and last timestamp of the analysed rows.
    days : float or None
        Span in days.
    warnings : tuple[HealthWarning, ...]
        The problems found, most serious first.
    """

    srm: SRMResult
    n_units: int
    n_multiple_exposures: int
    n_null_variant: int
    shadow: Shadow | None
    n_mismatched_rows: int
    mismatched_excluded: bool
    n_duplicate_rows: int
    small_variants: tuple[str, ...]
    min_units: int
    time_min: dt.datetime | None
    time_max: dt.datetime | None
    days: float | None
    warnings: tuple[HealthWarning, ...]


def build_shadow_sql(ds: Dataset, candidates: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Row counts per (candidate index, variant, candidate value), both non-NULL, in one scan."""
    v = f"CAST({quote_ident(ds.roles.variant or '')} AS VARCHAR)"
    parts = [f"CAST({quote_ident(c)} AS VARCHAR) AS c{i}" for i, c in enumerate(candidates)]
    sets = ", ".join(f"(v, c{i})" for i in range(len(candidates)))
    pick = " ".join(f"WHEN grouping(c{i}) = 0 THEN {i}" for i in range(len(candidates)))
    value = " ".join(f"WHEN grouping(c{i}) = 0 THEN c{i}" for i in range(len(candidates)))
    sql = (
        f"SELECT CASE {pick} END AS k, v, CASE {value} END AS value, count(*) AS n\n"
        f"FROM (SELECT {v} AS v, {', '.join(parts)} FROM {ds.table_sql} WHERE {v} IS NOT NULL)\n"
        f"GROUP BY GROUPING SETS ({sets})"
    )
    return sql, {}


def _possible_shadows(ds: Dataset, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """``candidates`` less those that cannot mirror the variant, found cheaply (DuckDB, two or more candidates).

    A shadow has exactly as many values as there are variants beside it; a column of which the first rows
    (with a variant) already show more distinct values than the whole column of variants has cannot be one.
    This only skips work: the result of :func:`find_shadow` is the same.
    """
    if ds.dialect != "duckdb" or len(candidates) < 2:
        return candidates
    v = f"CAST({quote_ident(ds.roles.variant or '')} AS VARCHAR)"
    n_variants = ds.query(f"SELECT count(DISTINCT {v}) FROM {ds.table_sql}")[0][0]
    counts = ", ".join(f"count(DISTINCT CAST({quote_ident(c)} AS VARCHAR))" for c in candidates)
    seen = ds.query(f"SELECT {counts} FROM (SELECT * FROM {ds.table_sql} LIMIT {PRUNE_SAMPLE_ROWS}) "
                    f"WHERE {v} IS NOT NULL")[0]
    return tuple(c for c, n in zip(candidates, seen, strict=True) if n is None or n <= n_variants)


def find_shadow(ds: Dataset) -> Shadow | None:
    """The dimension that best mirrors the variant one-to-one on most (not all) rows, or None."""
    if not ds.roles.variant:
        return None
    candidates = _possible_shadows(ds, tuple(d for d in ds.roles.dimensions if d != ds.roles.variant))
    if not candidates:
        return None
    sql, params = build_shadow_sql(ds, candidates)
    counts: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for k, variant, value, n in ds.query(sql, params):
        if value is not None:
            counts[int(k)][(str(variant), str(value))] = int(n)
    best: Shadow | None = None
    for k, table in counts.items():
        variants = {v for v, _ in table}
        values = {x for _, x in table}
        if len(variants) < 2 or len(values) != len(variants):
            continue
        mapping: dict[str, str] = {}
        for (v, x), n in sorted(table.items()):
            if v not in mapping or n > table[(v, mapping[v])]:
                mapping[v] = x
        if len(set(mapping.values())) != len(mapping):
            continue
        total = sum(table.values())
        agree = sum(table[(v, x)] for v, x in mapping.items())
        share = agree / total
        if SHADOW_MIN_AGREEMENT <= share < 1 and (best is None or share > best.agreement):
            best = Shadow(candidates[k], dict(sorted(mapping.items())), share, total - agree)
    return best


def shadow_filter(ds: Dataset, shadow: Shadow) -> tuple[str, dict[str, Any]]:
    """SQL condition keeping rows consistent with the shadow mapping (and rows where either value is NULL)."""
    p = Params("f")
    v = f"CAST({quote_ident(ds.roles.variant or '')} AS VARCHAR)"
    c = f"CAST({quote_ident(shadow.column)} AS VARCHAR)"
    pairs = " OR ".join(f"({v} = {p.add(a)} AND {c} = {p.add(b)})" for a, b in shadow.mapping.items())
    return f"({v} IS NULL OR {c} IS NULL OR {pairs})", p.values


def build_span_sql(ds: Dataset, row_filter: str | None) -> str:
    """Rows, distinct units (unit tables) and the time range of the rows analysed."""
    where = f" WHERE {row_filter}" if row_filter else ""
    unit = quote_ident(ds.roles.unit or "")
    distinct = f"count(DISTINCT {unit})" if ds.shape == "unit_table" else "NULL"
    times = f"min({ds.time_sql()}), max({ds.time_sql()})" if ds.roles.time else "NULL, NULL"
    return f"SELECT count({unit}), {distinct}, {times} FROM {ds.table_sql}{where}"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def health_warnings(h: ExperimentHealth) -> tuple[HealthWarning, ...]:
    """Plain sentences for every problem in ``h``, most serious first."""
    out: list[HealthWarning] = []
    if h.srm.flagged:
        out.append(HealthWarning("srm", h.srm.message))
    if h.shadow is not None and h.n_mismatched_rows:
        mapping = ", ".join(f"{a} -> {b}" for a, b in h.shadow.mapping.items())
        done = "excluded before the analysis" if h.mismatched_excluded else "kept (exclusion is off)"
        out.append(HealthWarning(
            "mismatched_assignment",
            f"{_rows(h.n_mismatched_rows)} with a {h.shadow.column!r} value that does not match the variant "
            f"({mapping} on {h.shadow.agreement:.1%} of rows); they were {done}.",
        ))
    if h.n_duplicate_rows:
        out.append(HealthWarning(
            "duplicate_units",
            f"{_rows(h.n_duplicate_rows)} {'repeats' if h.n_duplicate_rows == 1 else 'repeat'} a unit already "
            "seen; each unit's first row is used.",
        ))
    if h.n_multiple_exposures:
        out.append(HealthWarning(
            "multiple_exposures",
            f"{h.n_multiple_exposures:,} units were seen in more than one variant and are excluded.",
        ))
    if h.n_null_variant:
        out.append(HealthWarning(
            "null_variant", f"{h.n_null_variant:,} units have no variant value and are excluded."
        ))
    if h.small_variants:
        names = ", ".join(repr(v) for v in h.small_variants)
        out.append(HealthWarning(
            "small_variants",
            f"Variant {names} has fewer than {h.min_units:,} units, so its results are too noisy to act on.",
        ))
    return tuple(out)
