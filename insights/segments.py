"""Segment scan: every value of every dimension against the rest of the units, on one metric.

One SQL statement per run returns the sufficient statistics (units, sum, sum of squares) of every metric for
every (dimension, value) and for all units, through ``GROUPING SETS``; "the rest" is all units minus the
segment, so no second scan is needed. Binary metrics get the two-proportion z-test with a Newcombe interval,
continuous ones Welch's t-test (both from :mod:`insights.stats`). Only values with at least ``min_units``
units on both sides are tested, and at most ``max_values`` values per dimension (the largest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from insights.findings import ChartData, ChartRow, Finding, direction_of, relative
from insights.metrics import Metric
from insights.stats import SampleStats, two_proportion_test, welch_test, wilson_interval
from insights.units import UnitTable, segment_filter

NAN = math.nan


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """Which segments are tested.

    min_units
        Fewest units in a segment and in its rest for the segment to be tested.
    max_values
        Largest number of values tested per dimension (the most populous ones).
    """

    min_units: int = 30
    max_values: int = 20


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """Sufficient statistics of one metric in one segment (``value is None`` for all units)."""

    dimension: str | None
    value: str | None
    stats: SampleStats


def segment_stats(table: UnitTable, metric: Metric, dims: Sequence[str] | None = None) -> list[SegmentStats]:
    """Per (dimension, value) sufficient statistics of ``metric`` plus the all-units row, in one query."""
    return segment_stats_many(table, [metric], dims)[metric]


def segment_stats_many(
    table: UnitTable, metrics: Sequence[Metric], dims: Sequence[str] | None = None
) -> dict[Metric, list[SegmentStats]]:
    """Like :func:`segment_stats` for several metrics at once (still a single scan)."""
    dims = list(table.dimensions if dims is None else dims)
    cols = [table.metric_col(m) for m in metrics]
    seg = ", ".join(f"{table.segment_sql(d)} AS s{i}" for i, d in enumerate(dims))
    aggs = ", ".join(f"count({c}), sum({c}), sum({c} * {c})" for c in cols)
    groups = ", ".join([f"(s{i})" for i in range(len(dims))] + ["()"])
    flags = ", ".join(f"grouping(s{i})" for i in range(len(dims))) or "0"
    svals = ", ".join(f"s{i}" for i in range(len(dims))) or "NULL"
    sql = (f"WITH seg AS (SELECT {seg + ', ' if seg else ''}{', '.join(cols)} FROM units)\n"
           f"SELECT {flags}, {svals}, {aggs} FROM seg GROUP BY GROUPING SETS ({groups})")
    out: dict[Metric, list[SegmentStats]] = {m: [] for m in metrics}
    nd = max(len(dims), 1)
    for row in table.query(sql):
        grouped = [i for i in range(len(dims)) if row[i] == 0]
        dim, value = (dims[grouped[0]], str(row[nd + grouped[0]])) if grouped else (None, None)
        base = 2 * nd
        for k, m in enumerate(metrics):
            n, s, ss = row[base + 3 * k: base + 3 * k + 3]
            out[m].append(SegmentStats(dim, value, SampleStats(int(n or 0), float(s or 0.0), float(ss or 0.0))))
    return out


def compare(metric: Metric, segment: SampleStats, rest: SampleStats):  # noqa: ANN201 - stats.Comparison
    """Segment (variant side) against the rest (control side)."""
    if metric.binary:
        return two_proportion_test(round(rest.sum), rest.n, round(segment.sum), segment.n)
    return welch_test(rest, segment)


def _interval(metric: Metric, s: SampleStats) -> tuple[float, float]:
    if metric.binary:
        return wilson_interval(round(s.sum), s.n)
    if s.n < 2:
        return NAN, NAN
    half = 1.96 * s.std_err
    return s.mean - half, s.mean + half


def segment_body(table: UnitTable, metric_col: str, dim: str, value: str) -> str:
    """SQL on ``units`` returning the numbers of a segment finding (its metric column is ``metric_col``)."""
    cond = segment_filter(table, dim, value)
    return (f"WITH seg AS (SELECT {cond} AS in_segment, {metric_col} AS y FROM units WHERE {metric_col} IS NOT NULL)\n"
            "SELECT count(*) FILTER (WHERE in_segment) AS n_units,\n"
            "       count(*) FILTER (WHERE NOT in_segment) AS n_baseline,\n"
            "       avg(y) FILTER (WHERE in_segment) AS subject_mean,\n"
            "       avg(y) FILTER (WHERE NOT in_segment) AS baseline_mean,\n"
            "       avg(y) FILTER (WHERE in_segment) - avg(y) FILTER (WHERE NOT in_segment) AS effect\n"
            "FROM seg")


def chart_for(table: UnitTable, metric: Metric, dim: str, value: str, rows: Sequence[SegmentStats]) -> ChartData:
    bars = []
    for r in sorted(rows, key=lambda r: table.segment_order(dim, r.value or "")):
        low, high = _interval(metric, r.stats)
        bars.append(ChartRow(r.value or "", r.stats.mean, low, high, "highlight" if r.value == value else ""))
    return ChartData("bars", f"{metric.label} by {dim}", metric.label, tuple(bars), dim, percent=metric.binary)


def scan_segments(
    table: UnitTable,
    metric: Metric,
    stats: Sequence[SegmentStats] | None = None,
    settings: ScanSettings | None = None,
) -> list[Finding]:
    """Test every (dimension, value) against the rest; one finding per test (significant or not)."""
    settings = settings or ScanSettings()
    stats = list(segment_stats(table, metric) if stats is None else stats)
    total = next((s.stats for s in stats if s.dimension is None), None)
    if total is None or total.n == 0:
        return []
    out: list[Finding] = []
    for dim in table.dimensions:
        rows = sorted((s for s in stats if s.dimension == dim), key=lambda s: -s.stats.n)
        if len(rows) < 2:
            continue
        for r in rows[: settings.max_values]:
            seg = r.stats
            rest = SampleStats(total.n - seg.n, total.sum - seg.sum, total.sum_sq - seg.sum_sq)
            if seg.n < settings.min_units or rest.n < settings.min_units:
                continue
            c = compare(metric, seg, rest)
            if math.isnan(c.p_value):
                continue
            value = r.value or ""
            body = segment_body(table, "m0", dim, value)
            out.append(Finding(
                kind="segment", metric=metric.name, metric_label=metric.label, dimension=dim, value=value,
                direction=direction_of(c.abs_diff), subject_mean=seg.mean, baseline_mean=rest.mean,
                effect=c.abs_diff, rel_effect=relative(c.abs_diff, rest.mean), ci_low=c.abs_ci_low,
                ci_high=c.abs_ci_high, p_value=c.p_value, n_units=seg.n, n_baseline=rest.n,
                test="two-proportion z-test" if metric.binary else "Welch t-test",
                sql=table.display_sql(metric, [dim], body),
                chart=chart_for(table, metric, dim, value, rows[: settings.max_values]),
                key=f"segment:{metric.name}:{dim}={value}", terms=(dim, value),
            ))
    return out


def stratified_difference(strata: Sequence[tuple[SampleStats, SampleStats]]) -> tuple[float, float]:
    """Segment-minus-rest difference pooled over strata, and its two-sided p-value.

    Each stratum (segment, rest) with at least two units on both sides gets the weight
    ``n_s n_r / (n_s + n_r)`` (the Cochran-Mantel-Haenszel weight); the pooled difference is the weighted
    mean of the stratum differences and its variance the weighted sum of the unpooled variances
    ``var_s / n_s + var_r / n_r``. A normal reference gives the p-value (every stratum is large here).
    """
    from scipy import stats as sps

    num = den = var = 0.0
    for seg, rest in strata:
        if seg.n < 2 or rest.n < 2:
            continue
        w = seg.n * rest.n / (seg.n + rest.n)
        num += w * (seg.mean - rest.mean)
        den += w
        var += w * w * (seg.variance / seg.n + rest.variance / rest.n)
    if den <= 0 or var <= 0:
        return NAN, NAN
    eff = num / den
    se = math.sqrt(var) / den
    return eff, float(2 * sps.norm.sf(abs(eff) / se))


def restratified(
    table: UnitTable, anchors: Sequence[Finding], candidates: Sequence[Finding]
) -> dict[str, tuple[float, float]]:
    """Re-test candidate segments within strata of the anchor segments (one query for all candidates).

    All findings must be on the same metric. Returns ``{key: (pooled difference, p-value)}``.
    """
    if not candidates:
        return {}
    metric = next(m for m in table.metrics if m.name == candidates[0].metric)
    col = table.metric_col(metric)
    flags = [f"({segment_filter(table, a.dimension or '', a.value or '')}) AS f{i}" for i, a in enumerate(anchors)]
    fcols = [f"f{i}" for i in range(len(anchors))]
    dims = sorted({c.dimension or "" for c in candidates})
    seg = [f"{table.segment_sql(d)} AS s{i}" for i, d in enumerate(dims)]
    sets = [f"({', '.join([*fcols, f's{i}'])})" for i in range(len(dims))] + [f"({', '.join(fcols)})"]
    gflags = ", ".join(f"grouping(s{i})" for i in range(len(dims)))
    sql = (f"WITH seg AS (SELECT {', '.join(flags + seg)}, {col} AS y FROM units WHERE {col} IS NOT NULL)\n"
           f"SELECT {gflags}, {', '.join(f's{i}' for i in range(len(dims)))}, {', '.join(fcols)}, "
           f"count(*), sum(y), sum(y * y) FROM seg GROUP BY GROUPING SETS ({', '.join(sets)})")
    nd, na = len(dims), len(anchors)
    totals: dict[tuple, SampleStats] = {}
    cells: dict[tuple[str, str], dict[tuple, SampleStats]] = {}
    for r in table.query(sql):
        stratum = tuple(r[2 * nd: 2 * nd + na])
        st = SampleStats(int(r[-3]), float(r[-2] or 0.0), float(r[-1] or 0.0))
        grouped = [i for i in range(nd) if r[i] == 0]
        if not grouped:
            totals[stratum] = st
        else:
            cells.setdefault((dims[grouped[0]], str(r[nd + grouped[0]])), {})[stratum] = st
    out = {}
    for c in candidates:
        by_stratum = cells.get((c.dimension or "", c.value or ""), {})
        pairs = [(st, SampleStats(totals[k].n - st.n, totals[k].sum - st.sum, totals[k].sum_sq - st.sum_sq))
                 for k, st in by_stratum.items() if k in totals]
        out[c.key] = stratified_difference(pairs)
    return out
