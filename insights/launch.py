"""Launch changes: a metric before against after a launch date, with a pre-trend check.

Event logs: the units active in the ``window_days`` before the launch against those active in the same
number of days from the launch on; a unit's value in a period is the metric over its events in that period
(did it purchase, how many searches, how much revenue). Binary metrics get the two-proportion test, others
Welch. A unit active in both periods is in both samples; with the positive within-unit correlation usual for
product metrics this makes the test conservative. Unit tables with a time column compare the units first
seen before and after the date.

This is not an experiment: the statement always carries that caveat. The pre-trend check splits the
before-window into halves and tests late against early; a change in the same direction that is significant
and at least half as large as the launch change is reported in the caveat, and the ranking discounts it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from insights.dataset import Dataset
from insights.findings import ChartData, ChartRow, Finding, direction_of, relative
from insights.metrics import Metric
from insights.sql import Params, inline_params, quote_ident
from insights.stats import Comparison, SampleStats, two_proportion_test, welch_test

WINDOW_DAYS = 14
PRETREND_ALPHA = 0.05


def _unit_value(ds: Dataset, metric: Metric, p: Params) -> str:
    ev = quote_ident(ds.roles.event or "")
    if metric.kind == "converted":
        return f"max(CASE WHEN {ev} = {p.add(metric.target)} THEN 1 ELSE 0 END)"
    if metric.kind == "count":
        return f"count(*) FILTER (WHERE {ev} = {p.add(metric.target)})"
    col = quote_ident(metric.target)
    return f"coalesce(sum({col}), 0)" if metric.kind == "sum" else f"avg({col})"


def build_launch_sql(ds: Dataset, metric: Metric, start: dt.datetime, split: dt.datetime,
                     end: dt.datetime) -> tuple[str, dict]:
    """SQL returning the launch numbers: units and mean in [split, end) (subject) against [start, split)."""
    p = Params("l")
    ts, unit = ds.time_sql(), quote_ident(ds.roles.unit or "")
    a, b, c = p.add(start), p.add(split), p.add(end)
    if ds.shape == "event_log":
        inner = (f"SELECT {unit} AS unit, {ts} >= {b} AS after, {_unit_value(ds, metric, p)} AS y\n"
                 f"  FROM {ds.table_sql}\n  WHERE {unit} IS NOT NULL AND {ts} >= {a} AND {ts} < {c}\n  GROUP BY 1, 2")
    else:
        col = quote_ident(metric.target)
        inner = (f"SELECT {unit} AS unit, min({ts}) >= {b} AS after, arg_min(CAST({col} AS DOUBLE), {ts}) AS y\n"
                 f"  FROM {ds.table_sql}\n  WHERE {unit} IS NOT NULL\n  GROUP BY 1\n"
                 f"  HAVING min({ts}) >= {a} AND min({ts}) < {c}")
    sql = (f"WITH periods AS (\n  {inner}\n)\n"
           "SELECT count(y) FILTER (WHERE after) AS n_units,\n"
           "       count(y) FILTER (WHERE NOT after) AS n_baseline,\n"
           "       avg(y) FILTER (WHERE after) AS subject_mean,\n"
           "       avg(y) FILTER (WHERE NOT after) AS baseline_mean,\n"
           "       avg(y) FILTER (WHERE after) - avg(y) FILTER (WHERE NOT after) AS effect,\n"
           "       sum(y) FILTER (WHERE after) AS sum_after, sum(y * y) FILTER (WHERE after) AS sum_sq_after,\n"
           "       sum(y) FILTER (WHERE NOT after) AS sum_before,\n"
           "       sum(y * y) FILTER (WHERE NOT after) AS sum_sq_before\n"
           "FROM periods")
    return sql, p.values


def _compare(ds: Dataset, metric: Metric, sql: str, params: dict) -> Comparison:
    row = ds.query(sql, params)[0]
    after = SampleStats(int(row[0] or 0), float(row[5] or 0.0), float(row[6] or 0.0))
    before = SampleStats(int(row[1] or 0), float(row[7] or 0.0), float(row[8] or 0.0))
    return _test(metric, before, after)


def _window(ds: Dataset, launch: dt.date, window_days: int,
            span: tuple[dt.datetime | None, dt.datetime | None] | None,
            ) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime, int] | None:
    """(start, mid, split, end, days) around ``launch``, or None when the data does not cover both sides."""
    lo, hi = span if span is not None else data_span(ds)
    split = dt.datetime.combine(launch, dt.time())
    if lo is None or hi is None or not (lo < split <= hi):
        return None
    days = max(1, min(window_days, (split - lo).days, (hi - split).days + 1))
    start, end = split - dt.timedelta(days=days), split + dt.timedelta(days=days)
    return start, split - dt.timedelta(days=days / 2), split, end, days


def data_span(ds: Dataset) -> tuple[dt.datetime | None, dt.datetime | None]:
    """First and last timestamp of the data (pass it to :func:`analyze_launches` to scan only once)."""
    lo, hi = ds.query(f"SELECT min({ds.time_sql()}), max({ds.time_sql()}) FROM {ds.table_sql}")[0]
    return lo, hi


def _partial(ds: Dataset, metric: Metric, i: int, p: Params) -> tuple[list[str], str]:
    """Aggregates of one metric over a (unit, day, part) cell, and how cells combine into a unit's value."""
    ev = quote_ident(ds.roles.event or "")
    if metric.kind == "converted":
        return [f"max(CASE WHEN {ev} = {p.add(metric.target)} THEN 1 ELSE 0 END) AS a{i}"], f"max(a{i})"
    if metric.kind == "count":
        return [f"count(*) FILTER (WHERE {ev} = {p.add(metric.target)}) AS a{i}"], f"sum(a{i})"
    col = quote_ident(metric.target)
    if metric.kind == "sum":
        return [f"coalesce(sum({col}), 0) AS a{i}"], f"sum(a{i})"
    return [f"sum({col}) AS a{i}", f"count({col}) AS b{i}"], f"sum(a{i}) / nullif(sum(b{i}), 0)"


def _batch_sql(ds: Dataset, metrics: Sequence[Metric], start: dt.datetime, mid: dt.datetime, split: dt.datetime,
               end: dt.datetime) -> tuple[str, dict]:
    """One pass over the events in [start, end) giving, per metric, the launch and pre-trend sufficient
    statistics and the daily means (the numbers of :func:`build_launch_sql` and the daily chart, combined)."""
    p = Params("b")
    ts, unit = ds.time_sql(), quote_ident(ds.roles.unit or "")
    parts, combine = [], []
    for i, m in enumerate(metrics):
        aggs, comb = _partial(ds, m, i, p)
        parts += aggs
        combine.append(f"{comb} AS y{i}")
    a, b, c, d = p.add(start), p.add(mid), p.add(split), p.add(end)
    ys = ", ".join(combine)
    stats = ", ".join(f"count(y{i}), sum(y{i}), sum(y{i} * y{i})" for i in range(len(metrics)))
    means = ", ".join(f"avg(y{i}), NULL, NULL" for i in range(len(metrics)))
    sql = (f"WITH cells AS MATERIALIZED (\n  SELECT {unit} AS unit, CAST({ts} AS DATE) AS day,\n"
           f"         CASE WHEN {ts} >= {c} THEN 2 WHEN {ts} >= {b} THEN 1 ELSE 0 END AS part, {', '.join(parts)}\n"
           f"  FROM {ds.table_sql}\n  WHERE {unit} IS NOT NULL AND {ts} >= {a} AND {ts} < {d}\n  GROUP BY ALL\n),\n"
           f"launch AS (SELECT part = 2 AS side, {ys} FROM cells GROUP BY unit, part = 2),\n"
           f"trend AS (SELECT part = 1 AS side, {ys} FROM cells WHERE part < 2 GROUP BY unit, part),\n"
           f"daily AS (SELECT day, {ys} FROM cells GROUP BY unit, day)\n"
           f"SELECT 'launch' AS k, side, CAST(NULL AS DATE) AS day, {stats} FROM launch GROUP BY side\n"
           f"UNION ALL SELECT 'trend', side, NULL, {stats} FROM trend GROUP BY side\n"
           f"UNION ALL SELECT 'daily', NULL, day, {means} FROM daily GROUP BY day")
    return sql, p.values


def _test(metric: Metric, before: SampleStats, after: SampleStats) -> Comparison:
    if metric.binary:
        return two_proportion_test(round(before.sum), before.n, round(after.sum), after.n)
    return welch_test(before, after)


def analyze_launch(ds: Dataset, metric: Metric, launch: dt.date, *, title: str = "",
                   window_days: int = WINDOW_DAYS) -> list[Finding]:
    """The launch finding and its pre-trend test (both are tests in the family; only the first is a story).

    Returns ``[]`` when the data does not cover both sides of the date.
    """
    return analyze_launches(ds, [metric], launch, title=title, window_days=window_days)


def analyze_launches(ds: Dataset, metrics: Sequence[Metric], launch: dt.date, *, title: str = "",
                     window_days: int = WINDOW_DAYS,
                     span: tuple[dt.datetime | None, dt.datetime | None] | None = None) -> list[Finding]:
    """:func:`analyze_launch` for several metrics on the same date, in one pass over an event log's rows.

    ``span``: the data's (first, last) timestamp from :func:`data_span`, when already known.
    """
    ds.require("unit", "time")
    window = _window(ds, launch, window_days, span)
    if window is None:
        return []
    start, mid, split, end, days = window
    if ds.shape == "event_log":
        sql, params = _batch_sql(ds, metrics, start, mid, split, end)
        sides: dict[tuple[str, bool], tuple] = {}
        daily_rows: list[tuple] = []
        for row in ds.query(sql, params):
            if row[0] == "daily":
                daily_rows.append(row)
            else:
                sides[(row[0], bool(row[1]))] = row
        daily_rows.sort(key=lambda r: r[2])
    out = []
    for i, metric in enumerate(metrics):
        if ds.shape == "event_log":
            def stats(k: str, side: bool, i: int = i) -> SampleStats:
                row = sides.get((k, side))
                vals = row[3 + 3 * i: 6 + 3 * i] if row else (0, 0.0, 0.0)
                return SampleStats(int(vals[0] or 0), float(vals[1] or 0.0), float(vals[2] or 0.0))

            main = _test(metric, stats("launch", False), stats("launch", True))
            trend = _test(metric, stats("trend", False), stats("trend", True))
            series = tuple(ChartRow(str(r[2]), float(r[3 + 3 * i])) for r in daily_rows if r[3 + 3 * i] is not None)
        else:
            main = _compare(ds, metric, *build_launch_sql(ds, metric, start, split, end))
            trend = _compare(ds, metric, *build_launch_sql(ds, metric, start, mid, split))
            series = ()
        found = _finding(metric, launch, title, int(days), main, trend, series,
                         build_launch_sql(ds, metric, start, split, end))
        if found is not None:
            out.append(found)
    return out


def _finding(metric: Metric, launch: dt.date, title: str, days: int, main: Comparison, trend: Comparison,
             series: tuple[ChartRow, ...], shown: tuple[str, dict]) -> Finding | None:
    if math.isnan(main.p_value):
        return None
    name = title or f"the launch on {launch.isoformat()}"
    caveat = (f"This compares units active in the {days} days before and after {launch.isoformat()}; it is not an "
              "experiment, so anything else that changed at the same time could explain it.")
    pretrend = (not math.isnan(trend.p_value) and trend.p_value < PRETREND_ALPHA
                and trend.abs_diff * main.abs_diff > 0 and abs(trend.abs_diff) >= abs(main.abs_diff) / 2)
    if pretrend:
        caveat += (f" A change in the same direction ({trend.abs_diff:+.3g}) was already under way in the "
                   "weeks before the launch.")
    chart = ChartData("series", f"{metric.label} per day around {launch.isoformat()}", metric.label,
                      series, "day", marker=launch.isoformat(), percent=metric.binary)
    details = (("pretrend_effect", trend.abs_diff), ("pretrend_p_value", trend.p_value),
               ("pretrend_flag", 1.0 if pretrend else 0.0), ("window_days", float(days)))
    common = dict(kind="launch_change", metric=metric.name, metric_label=metric.label, dimension=None, value=None)
    return Finding(
        **common, direction=direction_of(main.abs_diff), subject_mean=main.variant_mean,  # type: ignore[arg-type]
        baseline_mean=main.control_mean, effect=main.abs_diff, rel_effect=relative(main.abs_diff, main.control_mean),
        ci_low=main.abs_ci_low, ci_high=main.abs_ci_high, p_value=main.p_value, n_units=main.n_variant,
        n_baseline=main.n_control, test="two-proportion z-test" if metric.binary else "Welch t-test",
        sql=inline_params(*shown), chart=chart, key=f"launch:{metric.name}:{launch.isoformat()}",
        details=details, caveat=caveat, terms=(metric.target,), subject=name,
    )


def pretrend_pvalue(f: Finding) -> float:
    """The pre-trend test's p-value stored on a launch finding (it is part of the multiple-testing family)."""
    return f.detail("pretrend_p_value")
