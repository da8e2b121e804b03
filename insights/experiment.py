"""A/B experiment analysis: health first, then every metric x variant against control.

``analyze_experiment(ds, spec)`` runs two or three SQL statements (an assignment-shadow scan, the time span,
and one statistics query with GROUPING SETS for variants, segments and days) and then the tests of
``insights.stats`` and ``insights.stats_experiment`` on the sufficient statistics. Binary metrics get
two-proportion tests, continuous ones Welch; CUPED (when the data has a pre-exposure period and it reduces the
variance of the difference by at least 1%) replaces both by Welch on the adjusted metric.
Bad input (no variant column, unknown control or metric) raises ``InsightsError``; data that cannot
support a comparison (one variant, no units, zero variance, ...) gives a result with an error code.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from insights.dataset import Dataset
from insights.errors import InsightsError
from insights.experiment_health import (
    ExperimentHealth,
    Shadow,
    build_span_sql,
    find_shadow,
    health_warnings,
    shadow_filter,
)
from insights.experiment_sql import STATUS_MULTI, STATUS_NULL, STATUS_OK, StatsQuery, build_stats_sql
from insights.experiment_types import (
    NAN,
    NO_UNITS,
    ONE_VARIANT,
    CumulativePoint,
    ExperimentResult,
    ExperimentSpec,
    MetricComparison,
    MetricRole,
    MetricSummary,
    SegmentComparison,
)
from insights.metrics import Metric, event_values, parse_metric
from insights.power import mde, sample_size_per_group
from insights.sql import inline_params, quote_ident
from insights.stats import (
    SampleStats,
    adjust_pvalues,
    srm_test,
    two_proportion_test,
    welch_test,
)
from insights.stats_experiment import bayes_compare, bayes_compare_proportions, cuped, sequential_interval

__all__ = ["ExperimentResult", "ExperimentSpec", "PowerPlan", "analyze_experiment", "analyze_experiment_breakdowns",
           "default_control",
           "plan_next_test", "variant_values"]

OTHER = "(other)"
CUPED_MIN_REDUCTION = 0.01  # below 1% the adjustment is noise; keep the plain (e.g. two-proportion) test
CONTROL_NAMES = ("control", "baseline", "a", "old")
MESSAGES = {
    "too_few_units": "A group has too few units to compare.",
    "invalid_counts": "The conversion counts are inconsistent with the group sizes.",
    "zero_variance": "Every unit has the same value, so there is nothing to test.",
    "no_conversions": "Neither group converted, so there is no rate to compare.",
    "zero_baseline": "The control mean is 0, so a relative lift is undefined (absolute numbers are shown).",
}


@dataclass(frozen=True, slots=True)
class _Cell:
    """Sufficient statistics of one group: per metric the values and (with CUPED) covariate and cross-product."""

    n_units: int
    ys: tuple[SampleStats, ...]
    xs: tuple[tuple[SampleStats, float], ...]

    def __add__(self, other: _Cell) -> _Cell:
        xs = tuple((a + b, ax + bx) for (a, ax), (b, bx) in zip(self.xs, other.xs, strict=True))
        return _Cell(self.n_units + other.n_units, tuple(a + b for a, b in zip(self.ys, other.ys, strict=True)), xs)


def default_control(values: Sequence[str]) -> str:
    """``control`` (any case) if present, else ``baseline``, ``a``, ``old``, else the first value sorted."""
    lowered = {v.lower(): v for v in sorted(values, reverse=True)}
    for name in CONTROL_NAMES:
        if name in lowered:
            return lowered[name]
    return sorted(values)[0]


def _parse_row(row: tuple, q: StatsQuery) -> _Cell:
    width = 6 if q.has_covariate else 3
    ys, xs = [], []
    for i in range(q.n_metrics):
        vals = row[6 + i * width: 6 + (i + 1) * width]
        ys.append(SampleStats(int(vals[0]), float(vals[1]), float(vals[2])))
        if q.has_covariate:
            xs.append((SampleStats(int(vals[0]), float(vals[3]), float(vals[4])), float(vals[5])))
    return _Cell(int(row[5]), tuple(ys), tuple(xs))


def _moments_stats(n: int, mean: float, var: float) -> SampleStats:
    """SampleStats with the given mean and sample variance (to feed adjusted moments to the tests)."""
    return SampleStats(n, n * mean, (n - 1) * var + n * mean * mean)


def _compare(
    metric: Metric, role: MetricRole, variant: str, control: str, c: _Cell, t: _Cell, i: int,
    spec: ExperimentSpec, use_cuped: bool,
) -> MetricComparison:
    ya, yb = c.ys[i], t.ys[i]
    reduction, applied = NAN, False
    if metric.binary:
        comp = two_proportion_test(round(ya.sum), ya.n, round(yb.sum), yb.n, spec.alpha)
        stats_a, stats_b = ya, yb
    else:
        comp = welch_test(ya, yb, spec.alpha)
        stats_a, stats_b = ya, yb
    if use_cuped and c.xs and ya.n >= 2 and yb.n >= 2:
        (xa, xya), (xb, xyb) = c.xs[i], t.xs[i]
        res = cuped(ya, xa, xya, yb, xb, xyb, spec.alpha)
        if res.error is None and res.variance_reduction >= CUPED_MIN_REDUCTION:
            comp, reduction, applied = res.comparison, res.variance_reduction, True
            stats_a = _moments_stats(ya.n, res.control_mean_adjusted, res.control_var_adjusted)
            stats_b = _moments_stats(yb.n, res.variant_mean_adjusted, res.variant_var_adjusted)
    if metric.binary and not applied:
        bayes = bayes_compare_proportions(round(ya.sum), ya.n, round(yb.sum), yb.n, spec.prior_mean,
                                          spec.prior_var, alpha=spec.alpha)
    else:
        bayes = bayes_compare(stats_a, stats_b, spec.prior_mean, spec.prior_var, alpha=spec.alpha)
    seq = sequential_interval(stats_a, stats_b, spec.alpha) if spec.sequential else (NAN, NAN, NAN)
    return MetricComparison(
        metric.name, role, variant, control, metric.binary and not applied, comp.n_control, comp.n_variant,
        comp.control_mean, comp.variant_mean, comp.abs_diff, comp.abs_ci_low, comp.abs_ci_high, comp.rel_lift,
        comp.rel_ci_low, comp.rel_ci_high, comp.p_value, comp.p_value, bayes.chance_to_win, bayes.expected_loss,
        *seq, applied, reduction, comp.error, MESSAGES.get(comp.error or ""),
    )


def _adjust(comparisons: list[MetricComparison], spec: ExperimentSpec) -> list[MetricComparison]:
    """Adjust p-values over the non-guardrail comparisons; guardrails keep their raw p-value."""
    family = [k for k, c in enumerate(comparisons) if c.role != "guardrail"]
    adjusted = adjust_pvalues([comparisons[k].p_value for k in family], spec.correction)
    out = list(comparisons)
    for k, p in zip(family, adjusted, strict=True):
        out[k] = replace(out[k], p_value_adjusted=p)
    return out


def _fold_segments(cells: dict[str, dict[str, _Cell]], top_n: int) -> tuple[list[tuple[str, dict[str, _Cell]]], int]:
    """Largest ``top_n`` segment values by units, the rest pooled into "(other)"."""
    order = sorted(cells, key=lambda s: (-sum(c.n_units for c in cells[s].values()), s))
    kept = [(s, cells[s]) for s in order[:top_n]]
    rest = order[top_n:]
    if rest:
        pooled: dict[str, _Cell] = {}
        for s in rest:
            for v, cell in cells[s].items():
                pooled[v] = pooled[v] + cell if v in pooled else cell
        kept.append((OTHER, pooled))
    return kept, len(rest)


def _cumulative(days: dict[dt.date, dict[str, _Cell]], control: str, variants: Sequence[str],
                alpha: float) -> list[CumulativePoint]:
    out: list[CumulativePoint] = []
    running: dict[str, SampleStats] = {}
    best_p: dict[str, float] = defaultdict(lambda: 1.0)
    for day in sorted(days):
        for v, cell in days[day].items():
            running[v] = running[v] + cell.ys[0] if v in running else cell.ys[0]
        a = running.get(control)
        for v in variants[1:]:
            b = running.get(v)
            if a is None or b is None:
                continue
            low, high, p = sequential_interval(a, b, alpha)
            if not math.isnan(p):
                best_p[v] = min(best_p[v], p)
            base = abs(a.mean) if a.n and a.mean != 0 else NAN
            diff = b.mean - a.mean
            out.append(CumulativePoint(day, v, a.n, b.n, diff, diff / base, low, high, low / base, high / base,
                                       best_p[v] if not math.isnan(p) else NAN))
    return out


def _resolve(ds: Dataset, spec: ExperimentSpec) -> tuple[Dataset, list[tuple[Metric, MetricRole]]]:
    variant = spec.variant or ds.roles.variant
    if not variant:
        raise InsightsError("missing_variant", f"No variant column was found in {ds.source}; choose one or "
                                               "pass --variant.")
    ds = ds.with_roles(variant=variant) if variant != ds.roles.variant else ds
    if not spec.metrics:
        raise InsightsError("bad_metric", "Choose at least one metric to compare.")
    events = event_values(ds)
    if spec.exposure_event is not None:
        if ds.shape != "event_log":
            raise InsightsError("bad_exposure", "An exposure event needs an event log; this is a unit table.")
        if spec.exposure_event not in events:
            raise InsightsError("bad_exposure", f"There is no event named {spec.exposure_event!r}.")
    if spec.segment is not None:
        ds.dtype(spec.segment)
    if not 0 < spec.alpha < 1:
        raise InsightsError("bad_option", f"alpha must be between 0 and 1, got {spec.alpha!r}.")
    if spec.cap_percentile is not None and not 0 < spec.cap_percentile < 1:
        raise InsightsError("bad_option", "The capping percentile must be between 0 and 1, "
                                          f"got {spec.cap_percentile!r}.")
    primary: list[MetricRole] = ["primary"]
    secondary: list[MetricRole] = ["secondary"]
    guardrail: list[MetricRole] = ["guardrail"]
    roles = primary + secondary * (len(spec.metrics) - 1) + guardrail * len(spec.guardrails)
    metrics = [parse_metric(m, ds, events) for m in (*spec.metrics, *spec.guardrails)]
    return ds, list(zip(metrics, roles, strict=True))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What every analysis of one experiment shares, whatever the segment: resolved metrics, shadow, span."""

    ds: Dataset
    metric_roles: list[tuple[Metric, MetricRole]]
    shadow: Shadow | None
    row_filter: str | None
    filter_params: dict[str, Any]
    span: tuple


def _prepare(ds: Dataset, spec: ExperimentSpec) -> _Prepared:
    ds, metric_roles = _resolve(ds, spec)
    shadow = find_shadow(ds)
    row_filter, filter_params = shadow_filter(ds, shadow) if shadow and spec.exclude_mismatched else (None, {})
    span = ds.query(build_span_sql(ds, row_filter), filter_params)[0]
    return _Prepared(ds, metric_roles, shadow, row_filter, filter_params, span)


def _stats_query(pre: _Prepared, spec: ExperimentSpec, *, packed: bool = False) -> StatsQuery:
    """The statistics query; ``packed`` is the faster form run on DuckDB, the plain one is shown."""
    return build_stats_sql(
        pre.ds, [m for m, _ in pre.metric_roles], exposure_event=spec.exposure_event, segment=spec.segment,
        covariate=spec.cuped, cap_percentile=spec.cap_percentile, by_day=spec.sequential, row_filter=pre.row_filter,
        row_filter_params=pre.filter_params, packed=packed and pre.ds.dialect == "duckdb",
    )


def analyze_experiment(ds: Dataset, spec: ExperimentSpec) -> ExperimentResult:
    """Analyse an A/B(/n) experiment on ``ds`` as ``spec`` says (see :class:`ExperimentSpec`)."""
    return _analyze(_prepare(ds, spec), spec)


def analyze_experiment_breakdowns(ds: Dataset, spec: ExperimentSpec,
                                  segments: Sequence[str | None]) -> list[ExperimentResult]:
    """``[analyze_experiment(ds, replace(spec, segment=s)) for s in segments]``, with less work.

    The metrics, the shadow check and the time span are computed once, and the result without a segment
    is read from the first breakdown's query (its totals do not depend on the segment); only its ``sql``
    is the plain query's.
    """
    pre = _prepare(ds, spec)
    dims = [s for s in segments if s is not None]
    for d in dims:
        pre.ds.dtype(d)
    runs = {s: _analyze(pre, replace(spec, segment=s)) for s in dict.fromkeys(dims)}
    if None in segments:
        plain = replace(spec, segment=None)
        if runs:
            q = _stats_query(pre, plain)
            res = replace(runs[dims[0]], segment_column=None, segments=(), n_segments_folded=0,
                          sql=inline_params(q.sql, q.params))
            runs[None] = res if res.error is None else _analyze(pre, plain)  # type: ignore[index]
        else:
            runs[None] = _analyze(pre, plain)  # type: ignore[index]
    return [runs[s] for s in segments]  # type: ignore[index]


def _analyze(pre: _Prepared, spec: ExperimentSpec) -> ExperimentResult:
    ds, metric_roles, shadow = pre.ds, pre.metric_roles, pre.shadow
    n_rows, n_distinct, t_min, t_max = pre.span
    q, run = _stats_query(pre, spec), _stats_query(pre, spec, packed=True)
    totals: dict[str, _Cell] = {}
    excluded: dict[str, int] = defaultdict(int)
    seg_cells: dict[str, dict[str, _Cell]] = defaultdict(dict)
    day_cells: dict[dt.date, dict[str, _Cell]] = defaultdict(dict)
    for row in ds.query(run.sql, run.params):
        level, status, variant, segment, day = row[:5]
        if status != STATUS_OK:
            if level == "variant":
                excluded[status] += int(row[5])
            continue
        cell = _parse_row(row, q)
        if level == "variant":
            totals[variant] = cell
        elif level == "segment":
            seg_cells[segment][variant] = cell
        elif day is not None:
            day_cells[day][variant] = cell

    names = list(totals)
    if spec.control is not None and names and spec.control not in names:
        known = ", ".join(sorted(names))
        raise InsightsError("bad_control", f"There is no variant {spec.control!r} (variants: {known}).")
    control = spec.control or (default_control(names) if names else "")
    variants = tuple([control] + sorted(v for v in names if v != control)) if names else ()
    counts = {v: totals[v].n_units for v in variants}
    srm = srm_test(counts, spec.expected_split, spec.srm_threshold)
    small = tuple(v for v in variants if counts[v] < spec.min_units)
    span_days = (t_max - t_min).total_seconds() / 86400 if isinstance(t_min, dt.datetime) else None
    health = ExperimentHealth(
        srm, sum(counts.values()), excluded[STATUS_MULTI], excluded[STATUS_NULL], shadow,
        shadow.n_mismatched_rows if shadow else 0, bool(shadow and spec.exclude_mismatched),
        int(n_rows - n_distinct) if n_distinct is not None else 0, small, spec.min_units,
        t_min if isinstance(t_min, dt.datetime) else None, t_max if isinstance(t_max, dt.datetime) else None,
        span_days, (),
    )
    health = replace(health, warnings=health_warnings(health))
    summaries = tuple(
        MetricSummary(m.name, m.label, r, m.binary, totals[control].ys[i].n if control in totals else 0,
                      totals[control].ys[i].mean if control in totals else NAN,
                      math.sqrt(totals[control].ys[i].variance) if control in totals else NAN)
        for i, (m, r) in enumerate(metric_roles)
    )
    result = ExperimentResult(
        ds.roles.variant or "", control, variants, summaries, health, (), spec.segment, (), 0, (),
        q.has_covariate, spec.correction, spec.alpha, inline_params(q.sql, q.params),
    )
    if not variants:
        return replace(result, error=NO_UNITS, message="No units with a variant value were found.")
    if len(variants) < 2:
        return replace(result, error=ONE_VARIANT,
                       message=f"Only one variant ({control!r}) has units, so there is nothing to compare.")

    comparisons = _adjust([
        _compare(m, r, v, control, totals[control], totals[v], i, spec, q.has_covariate)
        for i, (m, r) in enumerate(metric_roles) for v in variants[1:]
    ], spec)
    segments: list[SegmentComparison] = []
    folded = 0
    if spec.segment:
        kept, folded = _fold_segments(seg_cells, spec.top_n)
        for i, (m, r) in enumerate(metric_roles):
            block = [
                SegmentComparison(s, _compare(m, r, v, control, cells[control], cells[v], i, spec, False))
                for s, cells in kept for v in variants[1:] if control in cells and v in cells
            ]
            adjusted = adjust_pvalues([b.comparison.p_value for b in block], spec.correction)
            segments += [replace(b, comparison=replace(b.comparison, p_value_adjusted=p))
                         for b, p in zip(block, adjusted, strict=True)]
    cumulative = _cumulative(day_cells, control, variants, spec.alpha) if q.has_day else []
    return replace(result, comparisons=tuple(comparisons), segments=tuple(segments), n_segments_folded=folded,
                   cumulative=tuple(cumulative))


def variant_values(ds: Dataset, column: str, limit: int = 50) -> list[str]:
    """Distinct non-NULL values of ``column`` as text, largest first (to choose the control)."""
    ds.dtype(column)
    col = quote_ident(column)
    rows = ds.query(f"SELECT CAST({col} AS VARCHAR) AS v FROM {ds.table_sql} WHERE {col} IS NOT NULL "
                    f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {int(limit)}")
    return [str(r[0]) for r in rows]


@dataclass(frozen=True, slots=True)
class PowerPlan:
    """Planning the next test from a metric's observed control mean and spread.

    Attributes
    ----------
    n_per_group : int or None
        Units per group to detect ``mde_relative`` (None when the target is impossible, e.g. a rate above 1).
    mde_at_n : float
        Smallest relative lift detectable with ``n`` units per group.
    n : int
        The group size ``mde_at_n`` refers to.
    message : str or None
        Why a number is missing.
    """

    n_per_group: int | None
    mde_at_n: float
    n: int
    message: str | None = None


def plan_next_test(metric: MetricSummary, mde_relative: float, n: int, alpha: float = 0.05,
                   power: float = 0.8) -> PowerPlan:
    """Sample size for ``mde_relative`` and the MDE at ``n`` units per group, seeded from ``metric``'s control."""
    std = None if metric.binary else metric.control_std
    note: str | None = None
    size: int | None = None
    try:
        size = sample_size_per_group(metric.control_mean, std, mde_relative, alpha, power)
    except ValueError as exc:
        note = str(exc)
    try:
        detectable = mde(max(n, 2), metric.control_mean, std, alpha, power)
    except ValueError as exc:
        detectable, note = NAN, note or str(exc)
    return PowerPlan(size, detectable, n, note)
