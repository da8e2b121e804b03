"""Metric definitions (one value per unit) and the per-unit SQL every unit-level analysis starts from."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from insights.dataset import Dataset, is_numeric
from insights.errors import InsightsError
from insights.sql import Params, quote_ident

MetricKind = Literal["converted", "count", "sum", "mean", "column"]
Period = Literal["all", "post", "pre"]


@dataclass(frozen=True, slots=True)
class Metric:
    """A per-unit metric.

    kind
        ``converted`` (1 if the unit did the event), ``count`` (events per unit), ``sum`` / ``mean``
        (a numeric column per unit), ``column`` (a unit table's column as is).
    target
        The event name (converted, count) or the column name (sum, mean, column).
    binary
        True when every unit's value is 0 or 1; binary metrics get two-proportion tests.
    """

    kind: MetricKind
    target: str
    binary: bool

    @property
    def name(self) -> str:
        """The metric as the user writes it: ``purchase``, ``count:search``, ``sum:revenue``."""
        return self.target if self.kind in ("converted", "column") else f"{self.kind}:{self.target}"

    @property
    def label(self) -> str:
        """Words for statements: ``purchase conversion``, ``revenue per unit``."""
        readable = self.target.replace("_", " ")
        return {
            "converted": f"{readable} conversion",
            "count": f"{readable} events per unit",
            "sum": f"{readable} per unit",
            "mean": f"average {readable}",
            "column": readable,
        }[self.kind]


_EVENTS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], tuple[str, ...]]] = weakref.WeakKeyDictionary()


def event_values(ds: Dataset) -> list[str]:
    """Distinct event names, most frequent first.

    Kept per loaded DuckDB database (its table does not change once loaded), since one analysis asks several times.
    """
    if not ds.roles.event:
        return []
    key = (ds.key, ds.table, ds.roles.event)
    cached = _EVENTS.get(ds.con, {}).get(key) if ds.engine is None else None
    if cached is None:
        e = quote_ident(ds.roles.event)
        rows = ds.query(f"SELECT {e} FROM {ds.table_sql} WHERE {e} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1")
        cached = tuple(str(r[0]) for r in rows)
        if ds.engine is None:
            _EVENTS.setdefault(ds.con, {})[key] = cached
    return list(cached)


def _is_binary_column(ds: Dataset, column: str) -> bool:
    dtype = ds.dtype(column).upper()
    if dtype == "BOOLEAN":
        return True
    if not is_numeric(dtype):
        return False
    q = quote_ident(column)
    return bool(ds.query(f"SELECT coalesce(bool_and({q} IN (0, 1)), false) FROM {ds.table_sql}")[0][0])


def parse_metric(text: str, ds: Dataset, events: Sequence[str] | None = None) -> Metric:
    """Read a metric spec (``EVENT``, ``converted:EVENT``, ``count:EVENT``, ``sum:COL``, ``mean:COL``, ``COL``).

    ``events``: ``event_values(ds)`` when the caller already has it (saves a pass over the rows).
    """
    text = text.strip()
    kind, _, target = text.partition(":") if ":" in text else ("", "", text)
    kind = kind.strip().lower()
    if kind and kind not in ("converted", "count", "sum", "mean"):
        raise InsightsError("bad_metric", f"Unknown metric form {kind!r}; use converted:, count:, sum: or mean:.")
    if kind in ("sum", "mean") or (not kind and target in ds.column_names):
        if target not in ds.column_names:
            raise InsightsError("bad_metric", f"There is no column named {target!r} for the metric {text!r}.")
        dtype = ds.dtype(target).upper()
        if not (is_numeric(dtype) or dtype == "BOOLEAN"):
            raise InsightsError("bad_metric", f"Column {target!r} is {dtype}, not numeric, so it cannot be a metric.")
        if kind:
            return Metric(kind, target, False)  # type: ignore[arg-type]
        if ds.shape == "event_log":
            return Metric("sum", target, False)
        return Metric("column", target, _is_binary_column(ds, target))
    if not ds.roles.event:
        raise InsightsError("bad_metric", f"{text!r} is not a column, and the data has no event column to count it in.")
    names = list(events) if events is not None else event_values(ds)
    if target not in names:
        known = ", ".join(names[:8])
        raise InsightsError("bad_metric", f"There is no event named {target!r} (events include: {known}).")
    return Metric("count" if kind == "count" else "converted", target, kind != "count")


@dataclass(frozen=True, slots=True)
class UnitQuery:
    """SQL giving one row per unit, with the columns named here.

    Output columns: ``unit``; ``variant`` and ``n_variants`` when the data has a variant (``n_variants`` is the
    number of distinct variant values counted up to 2: 0, 1, or 2 meaning "more than one"); one column per
    dimension (first-touch value for event logs) named as the dimension; one per metric named ``m0``,
    ``m1``, ...; with ``covariate=True`` one per metric measured before exposure named ``x0``, ``x1``, ...;
    ``first_seen`` when there is a time column.
    """

    sql: str
    params: dict[str, Any]
    metric_columns: tuple[str, ...]
    dimension_columns: tuple[str, ...]


def _n_variants(v: str) -> str:
    """Distinct variants of a unit up to 2 (much cheaper than count(DISTINCT) on large logs)."""
    return f"CASE WHEN count({v}) = 0 THEN 0 WHEN min({v}) = max({v}) THEN 1 ELSE 2 END AS n_variants"


def _event_metric(m: Metric, cond: str, ev: str, p: Params) -> str:
    if m.kind == "converted":
        return f"max(CASE WHEN {ev} = {p.add(m.target)}{cond} THEN 1 ELSE 0 END)"
    if m.kind == "count":
        return f"count(*) FILTER (WHERE {ev} = {p.add(m.target)}{cond})"
    col = quote_ident(m.target)
    inner = f"CASE WHEN {col} IS NOT NULL{cond} THEN {col} END"
    return f"coalesce(sum({inner}), 0)" if m.kind == "sum" else f"avg({inner})"


PACK_BITS = 32  # per-unit event counts are packed 4 to a HUGEINT sum; a unit would need 2**32 events to overflow


def _packed_counts(pairs: Sequence[tuple[str, str]], ev: str,
                   p: Params) -> tuple[list[str], dict[tuple[str, str], str]]:
    """Sums that count a unit's rows for several (event, period condition) pairs at once, and how to read them.

    A row's slot is (index of its event) x (number of periods) + (index of its period); a row matches at most
    one slot (one event name; the periods do not overlap) or none (NULL). One ``sum`` over HUGEINT of
    ``2**(32 * (slot % 4))`` then carries four 32-bit counters. Returns the aggregates (aliased ``__packed_g``)
    and, per pair, the expression that reads its count back.
    """
    targets = list(dict.fromkeys(t for t, _ in pairs))
    conds = list(dict.fromkeys(c for _, c in pairs))
    event = "CASE " + ev + " " + " ".join(f"WHEN {p.add(t)} THEN {i}" for i, t in enumerate(targets)) + " END"
    period = "0" if conds == [""] else \
        "CASE " + " ".join(f"WHEN TRUE{c} THEN {j}" for j, c in enumerate(conds)) + " END"
    slot = f"(({event}) * {len(conds)} + ({period}))"
    n_slots = len(targets) * len(conds)
    aggs = [f"sum(CASE WHEN {slot} // 4 = {g} THEN CAST(1 AS HUGEINT) << ({PACK_BITS} * ({slot} % 4)) END) "
            f"AS __packed_{g}" for g in range((n_slots + 3) // 4)]
    reads = {}
    for t, c in pairs:
        k = targets.index(t) * len(conds) + conds.index(c)
        reads[(t, c)] = (f"CAST((coalesce(__packed_{k // 4}, 0) >> {PACK_BITS * (k % 4)}) & {2 ** PACK_BITS - 1} "
                         "AS BIGINT)")
    return aggs, reads


def build_units_sql(
    ds: Dataset,
    metrics: Sequence[Metric],
    dimensions: Sequence[str] = (),
    *,
    exposure_event: str | None = None,
    period: Period = "all",
    window_seconds: float | None = None,
    row_filter: str | None = None,
    param_prefix: str = "u",
    covariate: bool = False,
    packed: bool = False,
) -> UnitQuery:
    """One row per unit with its variant, first-touch dimensions and metric values.

    With ``exposure_event`` only exposed units are kept; ``period="post"`` counts events from the unit's first
    exposure (within ``window_seconds`` when given), ``"pre"`` counts events before it (the CUPED covariate).
    ``row_filter`` is a SQL condition on the table's columns (built by the caller with quoted identifiers;
    its bound parameters are the caller's to pass) that keeps only some rows, e.g. to drop rows whose
    assignment is inconsistent. ``param_prefix`` names this query's bound parameters (``$u0``, ...), so that
    two unit queries can be combined in one statement. ``covariate=True`` (event logs with an exposure event)
    adds each metric measured before exposure (``x0``, ``x1``, ...) in the same pass, for CUPED.

    ``packed=True`` (DuckDB, event logs) gives the same rows faster: the event counts behind ``converted`` and
    ``count`` metrics (and their covariates) are summed four to an aggregate (see :func:`_packed_counts`),
    since on 10M rows the cost is mostly the number of aggregates. The plain form is the one to show.
    """
    ds.require("unit")
    r, p = ds.roles, Params(param_prefix)
    table = ds.table_sql if row_filter is None else \
        f"(SELECT *, rowid AS rowid FROM {ds.table_sql} WHERE {row_filter})"
    for d in dimensions:
        ds.dtype(d)
    unit = quote_ident(r.unit)  # type: ignore[arg-type]
    metric_cols = tuple(f"m{i}" for i in range(len(metrics)))
    dim_cols = tuple(dimensions)
    select = [f"{unit} AS unit"]
    if ds.shape == "event_log":
        ts, ev = ds.time_sql(), quote_ident(r.event)  # type: ignore[arg-type]
        if r.variant:
            v = quote_ident(r.variant)
            select += [f"arg_min({v}, {ts}) AS variant", _n_variants(v)]
        select += [f"arg_min({quote_ident(d)}, {ts}) AS {quote_ident(d)}" for d in dimensions]
        cond = ""
        source = f"{table} AS t"
        if exposure_event is not None:
            exp = f"SELECT {unit} AS xu, min({ts}) AS exposed_at FROM {table} WHERE {ev} = " \
                  f"{p.add(exposure_event)} GROUP BY 1"
            source += f" JOIN ({exp}) AS x ON t.{unit} = x.xu"
            if period == "post":
                cond = f" AND {ts} >= x.exposed_at"
                if window_seconds is not None:
                    cond += f" AND {ts} <= x.exposed_at + to_seconds({p.add(float(window_seconds))})"
            elif period == "pre":
                cond = f" AND {ts} < x.exposed_at"
        for m in metrics:
            if m.kind == "column":
                raise InsightsError("bad_metric", f"{m.name!r} is a unit-table metric; use sum:{m.target} here.")
        pre = f" AND {ts} < x.exposed_at"
        wanted = [(m, cond, alias) for m, alias in zip(metrics, metric_cols, strict=True)]
        if covariate and exposure_event is not None:
            wanted += [(m, pre, f"x{i}") for i, m in enumerate(metrics)]
        pairs = list(dict.fromkeys((m.target, c) for m, c, _ in wanted if m.kind in ("converted", "count")))
        if not (packed and len(pairs) > 1):
            select += [f"{_event_metric(m, c, ev, p)} AS {alias}" for m, c, alias in wanted]
            reads: dict[tuple[str, str], str] = {}
        else:
            aggs, reads = _packed_counts(pairs, ev, p)
            select += aggs + [f"{_event_metric(m, c, ev, p)} AS {alias}" for m, c, alias in wanted
                              if m.kind not in ("converted", "count")]
        select.append(f"min({ts}) AS first_seen")
        group = f"t.{unit}"
        if exposure_event is not None and packed:
            select.append("x.exposed_at AS exposed_at")  # one per unit: a grouping key costs less than an aggregate
            group += ", x.exposed_at"
        elif exposure_event is not None:
            select.append("min(x.exposed_at) AS exposed_at")
        sql = f"SELECT {', '.join(select)}\nFROM {source}\nWHERE t.{unit} IS NOT NULL\nGROUP BY {group}"
        if reads:
            unpacked = []
            for m, c, alias in wanted:
                if m.kind in ("converted", "count"):
                    read = reads[(m.target, c)]
                    unpacked.append(f"{f'CAST({read} > 0 AS INTEGER)' if m.kind == 'converted' else read} AS {alias}")
            drop = ", ".join(a.rsplit(" AS ", 1)[1] for a in aggs)
            sql = f"SELECT * EXCLUDE ({drop}), {', '.join(unpacked)}\nFROM ({sql})"
        return UnitQuery(sql, p.values, metric_cols, dim_cols)

    order = ds.time_sql() if r.time else "rowid"
    first = "arg_min({col}, " + order + ")"
    if r.variant:
        v = quote_ident(r.variant)
        select += [f"{first.format(col=v)} AS variant", _n_variants(v)]
    select += [f"{first.format(col=quote_ident(d))} AS {quote_ident(d)}" for d in dimensions]
    for m, alias in zip(metrics, metric_cols, strict=True):
        if m.kind != "column" and m.kind not in ("sum", "mean"):
            raise InsightsError("bad_metric", f"{m.name!r} needs an event column; this is a unit table.")
        col = quote_ident(m.target)
        value = f"CAST({col} AS DOUBLE)" if m.kind != "column" or not m.binary else f"CAST({col} AS INTEGER)"
        select.append(f"{first.format(col=value)} AS {alias}")
    if r.time:
        select.append(f"min({ds.time_sql()}) AS first_seen")
    sql = f"SELECT {', '.join(select)}\nFROM {table}\nWHERE {unit} IS NOT NULL\nGROUP BY {unit}"
    return UnitQuery(sql, p.values, metric_cols, dim_cols)
