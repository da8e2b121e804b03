"""Build the SQL of a plan: every identifier quoted, every value a bound parameter.

Per-unit measures (rates, per-unit sums and counts) start from :func:`insights.metrics.build_units_sql`
(first-touch dimensions, exposure handling); row measures (counts, totals, order values) aggregate the
event rows directly; funnels follow each unit through the steps in time order (a step counts when it
happens at or after the unit's first time at the previous step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from insights.ask_shapes import REST, Plan
from insights.dataset import Dataset
from insights.metrics import Metric, build_units_sql
from insights.sql import Params, quote_ident

PER_UNIT = ("rate", "per_unit_sum", "per_unit_count")
GRAINS = ("hour", "day", "week", "month")


@dataclass(frozen=True, slots=True)
class BuiltQuery:
    """SQL with bound parameters, and which output column holds the answer.

    value_column
        The measured value (a rate, mean, count or total).
    n_column, sum_column, sum_sq_column
        Sufficient statistics per group, for comparisons (None when the query has none).
    binary
        True when the value is a proportion of units (two-proportion test), False for means (Welch).
    """

    sql: str
    params: dict[str, Any]
    value_column: str
    n_column: str | None = None
    sum_column: str | None = None
    sum_sq_column: str | None = None
    binary: bool = False


def value_name(plan: Plan) -> str:
    """Output column name of the measured value."""
    if plan.measure == "rate":
        return f"{plan.event}_rate"
    if plan.measure == "per_unit_sum":
        return f"{plan.column}_per_unit"
    if plan.measure == "per_unit_count":
        return f"{plan.event}_per_unit"
    if plan.measure == "row_mean":
        return f"mean_{plan.column}"
    if plan.measure == "total":
        return f"total_{plan.column}"
    if plan.measure == "events":
        return f"{plan.event}_events" if plan.event else "events"
    if plan.measure == "funnel":
        return "conversion"
    return "units"


def _time_cond(ds: Dataset, plan: Plan, p: Params) -> list[str]:
    if plan.time_range is None:
        return []
    ts, out = ds.time_sql(), []
    if plan.time_range.start is not None:
        out.append(f"{ts} >= {p.add(plan.time_range.start)}")
    if plan.time_range.end is not None:
        out.append(f"{ts} < {p.add(plan.time_range.end)}")
    return out


def _filter_conds(plan: Plan, p: Params, ref: dict[str, str]) -> list[str]:
    by_col: dict[str, list[str]] = {}
    for f in plan.filters:
        by_col.setdefault(f.column, []).append(f.value)
    return [f"CAST({ref[c]} AS VARCHAR) IN ({', '.join(p.add(v) for v in vals)})" for c, vals in by_col.items()]


def _group(plan: Plan, p: Params, ref: dict[str, str]) -> tuple[str | None, list[str]]:
    """(SELECT expression for the group column, extra WHERE conditions)."""
    if plan.shape == "compare" and plan.dimension:
        col = f"CAST({ref[plan.dimension]} AS VARCHAR)"
        subject, reference = plan.groups
        s = p.add(subject)
        if reference == REST:
            return f"CASE WHEN {col} = {s} THEN {s} ELSE {p.add(REST)} END AS {quote_ident(plan.dimension)}", []
        r = p.add(reference)
        return f"{col} AS {quote_ident(plan.dimension)}", [f"{col} IN ({s}, {r})"]
    if plan.shape == "breakdown" and plan.dimension:
        return f"{ref[plan.dimension]} AS {quote_ident(plan.dimension)}", []
    return None, []


def _where(conds: list[str]) -> str:
    return f"\nWHERE {' AND '.join(conds)}" if conds else ""


def _finish(select: list[str], source: str, conds: list[str], grouped: bool) -> str:
    sql = f"SELECT {', '.join(select)}\nFROM {source}{_where(conds)}"
    return sql + ("\nGROUP BY 1\nORDER BY 1" if grouped else "")


def _stat_columns(value: str, expr: str, binary: bool) -> tuple[list[str], dict[str, str]]:
    if binary:
        return ["count(*) AS units", f"sum({expr}) AS converted", f"avg({expr}) AS {quote_ident(value)}"], \
            {"n": "units", "sum": "converted", "sum_sq": "converted"}
    return [f"count({expr}) AS n", f"sum({expr}) AS sum", f"sum({expr} * {expr}) AS sum_sq",
            f"avg({expr}) AS {quote_ident(value)}"], {"n": "n", "sum": "sum", "sum_sq": "sum_sq"}


def _per_unit(ds: Dataset, plan: Plan) -> BuiltQuery:
    if plan.measure == "rate":
        metric = Metric("converted", plan.event or "", True)
    elif plan.measure == "per_unit_count":
        metric = Metric("count", plan.event or "", False)
    else:
        metric = Metric("sum", plan.column or "", False)
    p = Params("a")
    variant = ds.roles.variant
    cols = {f.column for f in plan.filters} | ({plan.dimension} if plan.dimension else set())
    dims = [c for c in ds.column_names if c in cols and c != variant]
    ref = {c: quote_ident(c) for c in dims}
    if variant:
        ref[variant] = "variant"
    time = _time_cond(ds, plan, p)
    uq = build_units_sql(ds, [metric], dims, exposure_event=plan.exposure,
                         period="post" if plan.exposure else "all",
                         row_filter=" AND ".join(time) if time else None, param_prefix="u")
    group, conds = _group(plan, p, ref)
    conds = conds + _filter_conds(plan, p, ref) + (["n_variants = 1"] if plan.exposure and variant else [])
    value = value_name(plan)
    binary = plan.measure == "rate"
    stats, names = _stat_columns(value, "m0", binary)
    select = ([group] if group else []) + stats
    sql = f"WITH units AS (\n{uq.sql}\n)\n" + _finish(select, "units", conds, group is not None)
    return BuiltQuery(sql, {**uq.params, **p.values}, value, names["n"], names["sum"], names["sum_sq"], binary)


def _rows(ds: Dataset, plan: Plan) -> BuiltQuery:
    p = Params("a")
    r = ds.roles
    ref = {c: quote_ident(c) for c in ds.column_names}
    conds: list[str] = []
    if plan.event is not None:
        conds.append(f"{quote_ident(r.event or '')} = {p.add(plan.event)}")
    conds += _time_cond(ds, plan, p)
    group, extra = _group(plan, p, ref)
    conds += extra + _filter_conds(plan, p, ref)
    if plan.shape == "over_time":
        grain = plan.grain if plan.grain in GRAINS else "day"
        group = f"date_trunc('{grain}', {ds.time_sql()}) AS period"
    value = value_name(plan)
    names: dict[str, str] = {}
    if plan.measure == "units":
        stats = [f"count(DISTINCT {quote_ident(r.unit or '')}) AS units"]
    elif plan.measure == "events":
        stats = [f"count(*) AS {quote_ident(value)}"]
    elif plan.measure == "total":
        stats = [f"coalesce(sum({quote_ident(plan.column or '')}), 0) AS {quote_ident(value)}"]
    else:
        col = quote_ident(plan.column or "")
        conds.append(f"{col} IS NOT NULL")
        stats, names = _stat_columns(value, col, False)
    sql = _finish(([group] if group else []) + stats, ds.table_sql, conds, group is not None)
    return BuiltQuery(sql, p.values, value, names.get("n"), names.get("sum"), names.get("sum_sq"), False)


def _funnel(ds: Dataset, plan: Plan) -> BuiltQuery:
    p = Params("a")
    r = ds.roles
    unit, ev, ts = quote_ident(r.unit or ""), quote_ident(r.event or ""), ds.time_sql()
    cols = sorted({f.column for f in plan.filters} | ({plan.dimension} if plan.dimension else set()))
    if plan.exposure and r.variant and r.variant not in cols:
        cols.append(r.variant)
    ctes = []
    source = ds.table_sql
    time = _time_cond(ds, plan, p)
    if plan.exposure:
        ctes.append(f"exposed AS (\nSELECT {unit} AS unit, min({ts}) AS exposed_at FROM {ds.table_sql}\n"
                    f"WHERE {ev} = {p.add(plan.exposure)} GROUP BY 1\n)")
        source = f"{ds.table_sql} AS e JOIN exposed AS x ON e.{unit} = x.unit"
        time = time + [f"{ts} >= x.exposed_at"]
    steps = ", ".join(p.add(s) for s in plan.steps)
    ctes.append(f"base AS (\nSELECT {unit} AS unit, {ts} AS ts, {ev} AS step FROM {source}\n"
                f"WHERE {unit} IS NOT NULL AND {ev} IN ({steps}){''.join(' AND ' + t for t in time)}\n)")
    for i, step in enumerate(plan.steps, start=1):
        if i == 1:
            ctes.append(f"s1 AS (\nSELECT unit, min(ts) AS t FROM base WHERE step = {p.add(step)} GROUP BY 1\n)")
        else:
            ctes.append(f"s{i} AS (\nSELECT b.unit, min(b.ts) AS t FROM base AS b JOIN s{i - 1} AS prev "
                        f"ON b.unit = prev.unit AND b.ts >= prev.t\nWHERE b.step = {p.add(step)} GROUP BY 1\n)")
    if cols:
        picks = [f"arg_min({quote_ident(c)}, {ts}) AS {quote_ident(c)}" for c in cols]
        if plan.exposure and r.variant:
            picks.append(f"count(DISTINCT {quote_ident(r.variant)}) AS n_variants")
        ctes.append(f"dims AS (\nSELECT {unit} AS unit, {', '.join(picks)} FROM {ds.table_sql} GROUP BY 1\n)")
    flags = [f"(s{i}.unit IS NOT NULL)::INT AS step{i}" for i in range(2, len(plan.steps) + 1)]
    joins = "".join(f"\nLEFT JOIN s{i} ON s{i}.unit = s1.unit" for i in range(2, len(plan.steps) + 1))
    dim_cols = [f"dims.{quote_ident(c)}" for c in cols] + (["dims.n_variants"] if plan.exposure and r.variant
                                                            else [])
    if cols:
        joins += "\nLEFT JOIN dims ON dims.unit = s1.unit"
    ctes.append(f"units AS (\nSELECT s1.unit, {', '.join(dim_cols + flags)}\nFROM s1{joins}\n)")
    ref = {c: quote_ident(c) for c in cols}
    group, conds = _group(plan, p, ref)
    conds = conds + _filter_conds(plan, p, ref) + (["n_variants = 1"] if plan.exposure and r.variant else [])
    last = f"step{len(plan.steps)}"
    counts = [f"count(*) AS {quote_ident(plan.steps[0] + '_units')}"]
    counts += [f"sum(step{i}) AS {quote_ident(s + '_units')}" for i, s in enumerate(plan.steps[1:], start=2)]
    counts.append(f"avg({last}) AS conversion")
    sql = "WITH " + ",\n".join(ctes) + "\n" + _finish(([group] if group else []) + counts, "units", conds,
                                                       group is not None)
    return BuiltQuery(sql, p.values, "conversion", f"{plan.steps[0]}_units", f"{plan.steps[-1]}_units",
                      f"{plan.steps[-1]}_units", True)


def build_plan_sql(ds: Dataset, plan: Plan) -> BuiltQuery:
    """The SQL that answers ``plan`` on ``ds``."""
    if plan.measure == "funnel":
        return _funnel(ds, plan)
    if plan.measure in PER_UNIT:
        return _per_unit(ds, plan)
    return _rows(ds, plan)
