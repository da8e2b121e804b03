"""Settings and result types of experiment analysis (values only; the logic is in ``insights.experiment``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from insights.experiment_health import ExperimentHealth

NAN = math.nan
Correction = Literal["bh", "holm"]
MetricRole = Literal["primary", "secondary", "guardrail"]

ONE_VARIANT = "one_variant"
NO_UNITS = "no_units"


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """What to analyse and how (every field has a default except the metrics).

    Attributes
    ----------
    metrics : tuple[str, ...]
        Metric specs (forms in DESIGN.md), the north star first; these form the tested family.
    guardrails : tuple[str, ...]
        Metrics watched for harm; tested but kept outside the multiple-testing family (as GrowthBook).
    variant : str or None
        Variant column; default the dataset's variant role.
    control : str or None
        Control value; default a value named ``control`` (any case), else ``baseline``, ``a`` or ``old``,
        else the first value in sorted order (``gate_30`` before ``gate_40``).
    expected_split : mapping or None
        Planned share of units per variant; None means an equal split.
    exposure_event : str or None
        Event marking when a unit entered the experiment (event logs): only exposed units count, and
        metrics count events from the first exposure on.
    correction : "bh" or "holm"
        Adjustment over metrics x treatment variants (and over segments x variants in the breakdown).
    alpha : float
        Significance level; intervals are at ``1 - alpha``.
    cap_percentile : float or None
        Winsorize continuous per-unit values at this percentile (e.g. 0.99), pooled across variants.
    cuped : bool
        Use each metric's pre-exposure value as a CUPED covariate when the data has one (event log with
        an exposure event).
    segment : str or None
        Dimension to break the effect down by, folded to ``top_n`` values plus "(other)".
    top_n : int
        Segment values kept (largest by units).
    sequential : bool
        Add always-valid (sequential) intervals and p-values and the cumulative series by day.
    prior_mean, prior_var : float, float or None
        Gaussian prior on the relative lift for the Bayesian view; ``prior_var=None`` is flat.
    srm_threshold : float
        SRM p-value below which the split is flagged.
    min_units : int
        Variants with fewer units are flagged as too small.
    exclude_mismatched : bool
        Drop rows whose variant disagrees with an assignment-shadow column (see experiment_health).
    """

    metrics: tuple[str, ...]
    guardrails: tuple[str, ...] = ()
    variant: str | None = None
    control: str | None = None
    expected_split: Mapping[str, float] | None = None
    exposure_event: str | None = None
    correction: Correction = "bh"
    alpha: float = 0.05
    cap_percentile: float | None = None
    cuped: bool = True
    segment: str | None = None
    top_n: int = 10
    sequential: bool = False
    prior_mean: float = 0.0
    prior_var: float | None = None
    srm_threshold: float = 0.001
    min_units: int = 100
    exclude_mismatched: bool = True


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """A metric as analysed, with the control's per-unit mean and standard deviation (to plan the next test).

    Attributes
    ----------
    name, label : str
        The spec as written and words for it.
    role : str
        ``primary`` (the north star), ``secondary`` or ``guardrail``.
    binary : bool
        True for 0/1 metrics (two-proportion tests).
    n_control : int
        Control units with a value.
    control_mean, control_std : float
        Control mean and sample standard deviation per unit.
    """

    name: str
    label: str
    role: MetricRole
    binary: bool
    n_control: int
    control_mean: float
    control_std: float


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric, one treatment variant against control.

    Attributes
    ----------
    metric, role, variant, control : str
        What is compared.
    binary : bool
        Two-proportion test (True) or Welch (False; also every metric once CUPED adjusts it).
    n_control, n_variant : int
        Units with a value.
    control_mean, variant_mean : float
        Means per unit (rates for binary metrics); CUPED-adjusted when ``cuped_applied``.
    abs_diff, abs_ci_low, abs_ci_high : float
        Difference of means and its confidence interval.
    rel_lift, rel_ci_low, rel_ci_high : float
        ``abs_diff / |control_mean|`` with a delta-method interval.
    p_value, p_value_adjusted : float
        Two-sided p-value, and adjusted over the family (guardrails: equal to ``p_value``).
    chance_to_win, expected_loss : float
        Bayesian view (Gaussian model on the relative lift).
    seq_ci_low, seq_ci_high, seq_p_value : float
        Always-valid interval for ``abs_diff`` and p-value (NaN unless the spec asks for sequential).
    cuped_applied : bool
        True when the numbers are CUPED-adjusted.
    variance_reduction : float
        CUPED's reduction of the variance of the difference (NaN without CUPED).
    error, message : str or None
        Error code and sentence when some numbers are undefined.
    """

    metric: str
    role: MetricRole
    variant: str
    control: str
    binary: bool
    n_control: int
    n_variant: int
    control_mean: float
    variant_mean: float
    abs_diff: float
    abs_ci_low: float
    abs_ci_high: float
    rel_lift: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    p_value_adjusted: float
    chance_to_win: float
    expected_loss: float
    seq_ci_low: float = NAN
    seq_ci_high: float = NAN
    seq_p_value: float = NAN
    cuped_applied: bool = False
    variance_reduction: float = NAN
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentComparison:
    """The effect within one value of the breakdown dimension (unadjusted for CUPED).

    Attributes
    ----------
    segment : str
        The value, "(other)" for the folded rest, "(missing)" for NULL.
    comparison : MetricComparison
        The comparison inside the segment; ``p_value_adjusted`` is over segments x variants for this metric.
    """

    segment: str
    comparison: MetricComparison


@dataclass(frozen=True, slots=True)
class CumulativePoint:
    """The north-star effect using units that entered up to ``day``.

    Attributes
    ----------
    day : date
        Last day of entry (exposure, or first seen) included.
    variant : str
        Treatment variant.
    n_control, n_variant : int
        Units so far.
    abs_diff, rel_lift : float
        Effect so far.
    ci_low, ci_high : float
        Always-valid interval for ``abs_diff``.
    rel_ci_low, rel_ci_high : float
        The same interval divided by ``|control mean|`` so far.
    p_value : float
        Always-valid p-value, the running minimum over days (valid at any look).
    """

    day: dt.date
    variant: str
    n_control: int
    n_variant: int
    abs_diff: float
    rel_lift: float
    ci_low: float
    ci_high: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Everything :func:`insights.experiment.analyze_experiment` found.

    Attributes
    ----------
    variant_column, control : str
        The assignment column and its control value.
    variants : tuple[str, ...]
        Analysed variants, control first.
    metrics : tuple[MetricSummary, ...]
        Metrics in the order given (north star first, guardrails last).
    health : ExperimentHealth
        SRM, exclusions, small variants, time span and warnings; read it first.
    comparisons : tuple[MetricComparison, ...]
        Every metric x treatment variant.
    segment_column : str or None
        The breakdown dimension.
    segments : tuple[SegmentComparison, ...]
        Breakdown comparisons (all metrics), largest segments first, "(other)" last.
    n_segments_folded : int
        Segment values folded into "(other)".
    cumulative : tuple[CumulativePoint, ...]
        North-star effect by day of entry (when sequential is on and the data has time).
    cuped_available : bool
        True when a pre-exposure covariate was used.
    correction : str
        The multiple-testing method.
    alpha : float
        Significance level.
    sql : str
        Runnable DuckDB SQL that returns the sufficient statistics behind every number.
    error, message : str or None
        Set when no comparison could be made (``one_variant``, ``no_units``).
    """

    variant_column: str
    control: str
    variants: tuple[str, ...]
    metrics: tuple[MetricSummary, ...]
    health: ExperimentHealth
    comparisons: tuple[MetricComparison, ...]
    segment_column: str | None
    segments: tuple[SegmentComparison, ...]
    n_segments_folded: int
    cumulative: tuple[CumulativePoint, ...]
    cuped_available: bool
    correction: str
    alpha: float
    sql: str
    error: str | None = None
    message: str | None = None
