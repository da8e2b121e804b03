"""Funnel step findings: segments whose conversion from one funnel step to the next differs from the rest.

The funnel is the user's (``steps``) or the inferred one (:func:`insights.funnel_suggest.suggest_steps`),
cut at the north-star event: the findings say where on the way to the north star a segment is lost, so a
funnel that does not reach the north star gives none. DuckDB computes every unit's level once (ClickHouse
``windowFunnel`` semantics, see :mod:`insights.funnel_sql`) together with the first-touch value of every
dimension; one grouped query then counts, per dimension value, the units at each step.

For each dimension, step k >= 2 and value with at least ``min_units`` units at step k-1 (in the value and in
its baseline), a two-proportion z-test compares the value's conversion from step k-1 to step k with the
baseline's. Values are taken strongest evidence first; one whose p-value is below ``ANCHOR_P`` becomes an
anchor and leaves the baseline of the values tested after it, so that when tablets lose half their carts
the other devices do not show up as converting "better than the rest". Every test is returned as a finding
(significant or not) so that it counts in the pipeline's one Benjamini-Hochberg family.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from insights.dataset import Dataset
from insights.engine import TempRelation
from insights.findings import ChartData, ChartRow, Finding, direction_of, relative
from insights.funnel_sql import build_levels_sql
from insights.funnel_suggest import suggest_steps
from insights.metrics import Metric
from insights.sql import inline_params, quote_ident, quote_literal
from insights.stats import two_proportion_test, wilson_interval
from insights.units import UNITS_TABLE, UnitTable, segment_dimensions

MISSING = "(missing)"
ANCHOR_P = 1e-4
TOP_VALUES = 20
WINDOW_SECONDS = 7 * 86_400.0


@dataclass(frozen=True, slots=True)
class _Counts:
    """Units of one dimension value at each step (index 0 = step 1)."""

    value: str
    n: tuple[int, ...]


def funnel_steps_for(ds: Dataset, north: Metric, steps: Sequence[str] | None = None) -> tuple[str, ...]:
    """The funnel to test: ``steps`` or the inferred one, cut at the north-star event (empty when not on it)."""
    if ds.shape != "event_log" or not (ds.roles.unit and ds.roles.time and ds.roles.event):
        return ()
    path = tuple(steps) if steps else suggest_steps(ds)
    if north.kind != "converted" or north.target not in path:
        return ()
    cut = path[: path.index(north.target) + 1]
    return cut if len(cut) >= 2 else ()


def _value_sql(col: str) -> str:
    return f"coalesce({col}, {quote_literal(MISSING)})"


def _counts(ds: Dataset, steps: Sequence[str], window: float, dims: Sequence[str],
            units: UnitTable | None = None) -> dict[str, list[_Counts]]:
    """Per dimension, units at each step per first-touch value (largest values first).

    With ``units`` (the pipeline's per-unit table, holding every dimension in ``dims``) the first-touch values
    are read from it instead of being aggregated again over the events.
    """
    levels, params = build_levels_sql(ds, steps, window)
    counts = ", ".join(f"count(*) FILTER (WHERE level >= {k})" for k in range(1, len(steps) + 1))

    def grouped(rel: str) -> str:
        union = " UNION ALL ".join(f"SELECT {i} AS dim, {_value_sql(f'd{i}')} AS value, {counts} FROM {rel} "
                                   f"GROUP BY 1, 2" for i in range(len(dims)))
        return f"{union} ORDER BY 1, 3 DESC, 2"

    if units is not None and set(dims) <= set(units.dimensions):
        picks = ", ".join(f"CAST(units.{quote_ident(d)} AS VARCHAR) AS d{i}" for i, d in enumerate(dims))
        joined = (f"WITH levels AS ({levels}), joined AS MATERIALIZED (SELECT levels.level, {picks} FROM levels "
                  f"JOIN {UNITS_TABLE} AS units USING (unit))\n{grouped('joined')}")
        rows = units.query(inline_params(joined, params))
    else:
        unit, ts = quote_ident(ds.roles.unit), ds.time_sql()  # type: ignore[arg-type]
        # arg_min skips NULL values: the first non-NULL value of each dimension, as the per-unit table has it
        first = ", ".join(f"arg_min(CAST({quote_ident(d)} AS VARCHAR), {ts}) AS d{i}" for i, d in enumerate(dims))
        picks = ", ".join(f"first_touch.d{i} AS d{i}" for i in range(len(dims)))
        select = (f"WITH levels AS ({levels}), first_touch AS (SELECT {unit} AS unit, {first} FROM {ds.table_sql} "
                  f"WHERE {unit} IS NOT NULL AND {ts} IS NOT NULL GROUP BY 1) "
                  f"SELECT levels.level, {picks} FROM levels JOIN first_touch USING (unit)")
        with TempRelation(ds, select, params, prefix="funnel_findings") as rel:
            rows = rel.query(grouped(rel.name))
    out: dict[str, list[_Counts]] = {d: [] for d in dims}
    for dim, value, *n in rows:
        out[dims[int(dim)]].append(_Counts(str(value), tuple(int(x) for x in n)))
    return out


def _sql(ds: Dataset, steps: Sequence[str], window: float, dim: str, value: str, k: int,
         excluded: Sequence[str]) -> str:
    """SQL whose one row reproduces the finding: units at step k-1 and conversion to step k, value vs rest."""
    levels, params = build_levels_sql(ds, steps, window, segment=dim)
    seg = f"{_value_sql('segment')} = {quote_literal(value)}"
    rest = f"{_value_sql('segment')} NOT IN ({', '.join(quote_literal(v) for v in (value, *excluded))})"
    prev, nxt = f"level >= {k - 1}", f"level >= {k}"
    sub = f"count(*) FILTER (WHERE {seg} AND {nxt}) / count(*) FILTER (WHERE {seg} AND {prev})"
    base = f"count(*) FILTER (WHERE {rest} AND {nxt}) / count(*) FILTER (WHERE {rest} AND {prev})"
    body = (f"SELECT count(*) FILTER (WHERE {seg} AND {prev}) AS n_units,\n"
            f"       count(*) FILTER (WHERE {rest} AND {prev}) AS n_baseline,\n"
            f"       {sub} AS subject_mean,\n       {base} AS baseline_mean,\n"
            f"       {sub} - {base} AS effect\nFROM levels")
    return inline_params(f"WITH levels AS (\n{levels}\n)\n{body}", params)


def _chart(dim: str, value: str, step: str, x: tuple[int, int], rest: tuple[int, int]) -> ChartData:
    rows = []
    for label, (hit, n), group in ((value, x, "highlight"), ("rest", rest, "")):
        low, high = wilson_interval(hit, n)
        rows.append(ChartRow(label, hit / n, low, high, group))
    return ChartData("bars", f"Conversion to {step} from the previous step", "conversion", tuple(rows), dim,
                     percent=True)


def funnel_findings(ds: Dataset, north: Metric, steps: Sequence[str] | None = None,
                    window_seconds: float = WINDOW_SECONDS, min_units: int = 30,
                    units: UnitTable | None = None) -> list[Finding]:
    """One ``funnel_step`` finding per tested dimension value x step (see the module docstring).

    ``units``: the pipeline's per-unit table, to read the first-touch dimension values from.
    """
    path = funnel_steps_for(ds, north, steps)
    dims = [d for d in segment_dimensions(ds) if not ds.dtype(d).upper().startswith(("DOUBLE", "FLOAT", "DECIMAL"))]
    if not path or not dims:
        return []
    name = "funnel:" + ",".join(path)
    out: list[Finding] = []
    for dim, values in _counts(ds, path, window_seconds, dims, units).items():
        total = [sum(v.n[j] for v in values) for j in range(len(path))]
        values = values[:TOP_VALUES]
        if len(values) < 2:
            continue
        for k in range(2, len(path) + 1):
            step = f"{path[k - 2]} -> {path[k - 1]}"
            tests = []
            for v in values:
                tests.append((two_proportion_test(total[k - 1] - v.n[k - 1], total[k - 2] - v.n[k - 2],
                                                  v.n[k - 1], v.n[k - 2]), v))
            anchors: list[_Counts] = []
            for _, v in sorted(tests, key=lambda t: (t[0].p_value if not math.isnan(t[0].p_value) else 2, t[1].value)):
                rest = [total[j] - v.n[j] - sum(a.n[j] for a in anchors) for j in range(len(path))]
                if min(v.n[k - 2], rest[k - 2]) < min_units:
                    continue
                c = two_proportion_test(rest[k - 1], rest[k - 2], v.n[k - 1], v.n[k - 2])
                if c.error and math.isnan(c.p_value):
                    continue
                excluded = [a.value for a in anchors]
                out.append(Finding(
                    kind="funnel_step", metric=name, metric_label=f"conversion from {path[k - 2]} to {path[k - 1]}",
                    dimension=dim, value=v.value, direction=direction_of(c.abs_diff), subject_mean=c.variant_mean,
                    baseline_mean=c.control_mean, effect=c.abs_diff, rel_effect=relative(c.abs_diff, c.control_mean),
                    ci_low=c.abs_ci_low, ci_high=c.abs_ci_high, p_value=c.p_value, n_units=v.n[k - 2],
                    n_baseline=rest[k - 2], test="two-proportion z-test",
                    sql=_sql(ds, path, window_seconds, dim, v.value, k, excluded),
                    chart=_chart(dim, v.value, path[k - 1], (v.n[k - 1], v.n[k - 2]), (rest[k - 1], rest[k - 2])),
                    key=f"funnel_step:{name}:{k}:{dim}={v.value}", subject=step,
                    details=(("step", float(k)), ("units_reached", float(v.n[k - 1]))),
                    caveat=f"The rest leaves out {dim} = {', '.join(excluded)}." if excluded else "",
                    terms=(dim, v.value, path[k - 2], path[k - 1]),
                ))
                if c.p_value < ANCHOR_P:
                    anchors.append(v)
    return out
