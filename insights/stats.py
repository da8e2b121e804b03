"""Statistical tests on sufficient statistics: comparisons, intervals, corrections, sample ratio check.

The experiment's further views (Bayesian comparison, always-valid intervals, CUPED) are in
:mod:`insights.stats_experiment`.

Every function works from per-group sufficient statistics (``n``, sum, sum of squares and,
for CUPED, the cross-product sum) that SQL computes; raw rows never reach this module. The
tests themselves are scipy and statsmodels calls; this module chooses their options, adds
relative lifts, and turns degenerate input into a result with an error code instead of an
exception. All numbers are raw floats (proportions in 0-1); undefined numbers are NaN.

Error codes (the ``error`` field of a result):

- ``"too_few_units"``: a group has too few units for the statistic (n = 0, or n < 2 for a variance).
- ``"invalid_counts"``: a count is negative or larger than its group.
- ``"zero_variance"``: every unit has the same value, so no test statistic exists.
- ``"no_conversions"``: a binary metric with no conversions in either group.
- ``"zero_baseline"``: the control mean is 0, so a relative lift is undefined; absolute
  numbers are still filled in.
- ``"mismatched_n"``: CUPED inputs for one group disagree on the number of units.
- ``"invalid_prior"``: a Bayesian prior variance that is not positive.
- ``"too_few_groups"``: an SRM check on fewer than two groups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

NAN = math.nan

TOO_FEW_UNITS = "too_few_units"
INVALID_COUNTS = "invalid_counts"
ZERO_VARIANCE = "zero_variance"
NO_CONVERSIONS = "no_conversions"
ZERO_BASELINE = "zero_baseline"
MISMATCHED_N = "mismatched_n"
INVALID_PRIOR = "invalid_prior"
TOO_FEW_GROUPS = "too_few_groups"

CorrectionMethod = Literal["bh", "holm", "bonferroni"]
EffectScale = Literal["relative", "absolute"]

_MULTIPLETESTS_METHOD: dict[str, str] = {"bh": "fdr_bh", "holm": "holm", "bonferroni": "bonferroni"}
_REL_TOL = 1e-12


@dataclass(frozen=True, slots=True)
class SampleStats:
    """Sufficient statistics of one group for one metric.

    Attributes
    ----------
    n : int
        Number of units.
    sum : float
        Sum of the metric over units.
    sum_sq : float
        Sum of the squared metric over units.
    """

    n: int
    sum: float
    sum_sq: float

    @property
    def mean(self) -> float:
        """Mean per unit; NaN when there are no units."""
        return self.sum / self.n if self.n > 0 else NAN

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); NaN when n < 2, 0 when all values are equal up to rounding."""
        if self.n < 2:
            return NAN
        centered = self.sum_sq - self.sum * self.sum / self.n
        if centered <= _REL_TOL * abs(self.sum_sq):
            return 0.0
        return centered / (self.n - 1)

    @property
    def std_err(self) -> float:
        """Standard error of the mean; NaN when n < 2."""
        return math.sqrt(self.variance / self.n) if self.n >= 2 else NAN

    def __add__(self, other: SampleStats) -> SampleStats:
        """Pool two disjoint sets of units (e.g. strata or days)."""
        return SampleStats(self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq)

    @classmethod
    def from_values(cls, values: Iterable[float] | np.ndarray) -> SampleStats:
        """Sufficient statistics of raw values (for tests and small in-memory data)."""
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
        arr = arr.ravel()
        return cls(int(arr.size), float(arr.sum()), float(np.dot(arr, arr)))


def binary_stats(x: int, n: int) -> SampleStats:
    """Sufficient statistics of a 0/1 metric with ``x`` ones among ``n`` units."""
    return SampleStats(int(n), float(x), float(x))


@dataclass(frozen=True, slots=True)
class Comparison:
    """Variant (treatment) against control on one metric.

    Attributes
    ----------
    n_control, n_variant : int
        Units in each group.
    control_mean, variant_mean : float
        Mean per unit (a proportion for binary metrics).
    abs_diff : float
        ``variant_mean - control_mean``.
    abs_ci_low, abs_ci_high : float
        Confidence interval for ``abs_diff`` at level ``1 - alpha``.
    rel_lift : float
        ``(variant_mean - control_mean) / |control_mean|``: equals ``variant_mean / control_mean - 1``
        for a positive baseline and keeps the sign of ``abs_diff`` for a negative one.
    rel_ci_low, rel_ci_high : float
        Delta-method confidence interval for ``rel_lift`` (t quantile, Welch-Satterthwaite df).
    p_value : float
        Two-sided p-value for ``abs_diff = 0``.
    error : str or None
        Error code when some numbers are undefined (see module docstring).
    rel_p_value : float
        Two-sided delta-method p-value for ``rel_lift = 0``.
    """

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
    error: str | None = None
    rel_p_value: float = NAN


def _welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom; NaN when undefined."""
    qa, qb = var_a / n_a, var_b / n_b
    denom = (qa * qa / (n_a - 1) if n_a > 1 else 0.0) + (qb * qb / (n_b - 1) if n_b > 1 else 0.0)
    if not denom > 0:
        return NAN
    return (qa + qb) ** 2 / denom


def _t_interval(estimate: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    """(low, high, two-sided p) for ``estimate`` with standard error ``se`` and t(df)."""
    if not (se > 0 and df > 0):
        return NAN, NAN, NAN
    q = float(sps.t.ppf(1 - alpha / 2, df))
    p = float(2 * sps.t.sf(abs(estimate) / se, df))
    return estimate - q * se, estimate + q * se, p


def _relative_lift(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int, alpha: float
) -> tuple[float, float, float, float]:
    """Relative lift, its delta-method CI and p-value (t with Welch df, as GrowthBook).

    Var(lift) ~= var_b / (n_b mean_a^2) + mean_b^2 var_a / (n_a mean_a^4); dividing by
    ``|mean_a|`` does not change this variance, only the sign of the lift.
    """
    lift = (mean_b - mean_a) / abs(mean_a)
    var = var_b / (n_b * mean_a**2) + mean_b**2 * var_a / (n_a * mean_a**4)
    low, high, p = _t_interval(lift, math.sqrt(var), _welch_df(var_a, n_a, var_b, n_b), alpha)
    return lift, low, high, p


def welch_from_moments(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int, alpha: float
) -> Comparison:
    """Welch comparison from means, sample variances and counts (n >= 2 in each group)."""
    diff = mean_b - mean_a
    empty = Comparison(n_a, n_b, mean_a, mean_b, diff, NAN, NAN, NAN, NAN, NAN, NAN)
    if var_a + var_b <= 0:
        return replace(empty, error=ZERO_VARIANCE)
    res = sps.ttest_ind_from_stats(
        mean_b, math.sqrt(var_b), n_b, mean_a, math.sqrt(var_a), n_a, equal_var=False
    )
    se = math.sqrt(var_a / n_a + var_b / n_b)
    low, high, _ = _t_interval(diff, se, _welch_df(var_a, n_a, var_b, n_b), alpha)
    if mean_a == 0:
        return Comparison(
            n_a, n_b, mean_a, mean_b, diff, low, high, NAN, NAN, NAN, float(res.pvalue), ZERO_BASELINE
        )
    lift, rlow, rhigh, rp = _relative_lift(mean_a, var_a, n_a, mean_b, var_b, n_b, alpha)
    return Comparison(
        n_a, n_b, mean_a, mean_b, diff, low, high, lift, rlow, rhigh, float(res.pvalue), None, rp
    )


def welch_test(control: SampleStats, variant: SampleStats, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t-test of ``variant`` against ``control``.

    The p-value is scipy's ``ttest_ind_from_stats(..., equal_var=False)``; the absolute CI uses
    the Welch-Satterthwaite df. The relative lift is ``(mean_b - mean_a) / |mean_a|`` with a
    delta-method CI (see :class:`Comparison`), which keeps the sign right for a negative baseline.
    """
    if control.n < 2 or variant.n < 2:
        return Comparison(
            control.n, variant.n, control.mean, variant.mean, variant.mean - control.mean,
            NAN, NAN, NAN, NAN, NAN, NAN, TOO_FEW_UNITS,
        )
    return welch_from_moments(
        control.mean, control.variance, control.n, variant.mean, variant.variance, variant.n, alpha
    )


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion ``x / n``; (NaN, NaN) when undefined."""
    if n <= 0 or x < 0 or x > n:
        return NAN, NAN
    low, high = proportion_confint(x, n, alpha=alpha, method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def newcombe_diff_interval(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float]:
    """Newcombe (1998) hybrid score interval (method 10) for ``x1/n1 - x2/n2``."""
    if n1 <= 0 or n2 <= 0 or not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return NAN, NAN
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=alpha)
    return float(low), float(high)


def wald_diff_interval(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float]:
    """Wald interval for ``x1/n1 - x2/n2`` (for comparison only; it undercovers at small n)."""
    if n1 <= 0 or n2 <= 0 or not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return NAN, NAN
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="wald", alpha=alpha)
    return float(low), float(high)


def two_proportion_test(
    x_control: int, n_control: int, x_variant: int, n_variant: int, alpha: float = 0.05
) -> Comparison:
    """Compare two conversion rates.

    p-value: two-sided pooled z-test (statsmodels ``proportions_ztest``), which equals the
    2x2 chi-square test without Yates' correction. Absolute CI: Newcombe hybrid score.
    Relative lift: delta method with binomial variances p(1 - p) (as :func:`welch_test`).
    """
    p_a = x_control / n_control if n_control > 0 else NAN
    p_b = x_variant / n_variant if n_variant > 0 else NAN
    base = Comparison(n_control, n_variant, p_a, p_b, p_b - p_a, NAN, NAN, NAN, NAN, NAN, NAN)
    if n_control <= 0 or n_variant <= 0:
        return replace(base, error=TOO_FEW_UNITS)
    if not (0 <= x_control <= n_control and 0 <= x_variant <= n_variant):
        return replace(base, error=INVALID_COUNTS)
    low, high = newcombe_diff_interval(x_variant, n_variant, x_control, n_control, alpha)
    base = replace(base, abs_ci_low=low, abs_ci_high=high)
    if x_control + x_variant == 0:
        return replace(base, error=NO_CONVERSIONS)
    if x_control + x_variant == n_control + n_variant:
        return replace(base, error=ZERO_VARIANCE)
    _, p_value = proportions_ztest([x_variant, x_control], [n_variant, n_control])
    base = replace(base, p_value=float(p_value))
    if x_control == 0:
        return replace(base, error=ZERO_BASELINE)
    lift, rlow, rhigh, rp = _relative_lift(
        p_a, p_a * (1 - p_a), n_control, p_b, p_b * (1 - p_b), n_variant, alpha
    )
    return replace(base, rel_lift=lift, rel_ci_low=rlow, rel_ci_high=rhigh, rel_p_value=rp)


def adjust_pvalues(p_values: Sequence[float], method: CorrectionMethod = "bh") -> list[float]:
    """Multiple-testing adjusted p-values, in input order.

    ``"bh"`` is Benjamini-Hochberg (FDR), ``"holm"`` Holm-Bonferroni and ``"bonferroni"``
    Bonferroni (both FWER). NaN entries stay NaN and do not count as tests.
    """
    arr = np.asarray(p_values, dtype=float)
    out = np.full(arr.shape, NAN)
    ok = ~np.isnan(arr)
    if ok.any():
        out[ok] = multipletests(arr[ok], method=_MULTIPLETESTS_METHOD[method])[1]
    return [float(v) for v in out]


@dataclass(frozen=True, slots=True)
class SRMResult:
    """Sample ratio mismatch check (chi-square goodness of fit, no continuity correction).

    Attributes
    ----------
    counts : dict[str, int]
        Units observed per group.
    expected_shares : dict[str, float]
        Planned share of units per group (normalised to sum to 1).
    chi2 : float
        Pearson chi-square statistic.
    p_value : float
        p-value with ``len(counts) - 1`` degrees of freedom.
    flagged : bool
        True when ``p_value < threshold``.
    message : str
        One plain sentence for a product manager.
    error : str or None
        Error code when the check cannot run.
    """

    counts: dict[str, int]
    expected_shares: dict[str, float]
    chi2: float
    p_value: float
    flagged: bool
    message: str
    error: str | None = None


def srm_test(
    counts: Mapping[str, int],
    expected_shares: Mapping[str, float] | None = None,
    threshold: float = 0.001,
) -> SRMResult:
    """Check that units split across groups as planned (equal split when no shares are given)."""
    names = list(counts) + [k for k in (expected_shares or {}) if k not in counts]
    obs = {k: int(counts.get(k, 0)) for k in names}
    raw = {k: float((expected_shares or {}).get(k, 0.0 if expected_shares else 1.0)) for k in names}
    total_share = sum(v for v in raw.values() if v > 0)
    shares = {k: (v / total_share if total_share > 0 and v > 0 else 0.0) for k, v in raw.items()}
    total = sum(obs.values())
    if len(names) < 2:
        msg = "The sample ratio check needs at least two groups."
        return SRMResult(obs, shares, NAN, NAN, False, msg, TOO_FEW_GROUPS)
    if total <= 0 or any(v < 0 for v in obs.values()):
        msg = "The sample ratio check needs units in the groups."
        return SRMResult(obs, shares, NAN, NAN, False, msg, TOO_FEW_UNITS)
    if any(shares[k] == 0 and obs[k] > 0 for k in names):
        unplanned = next(k for k in names if shares[k] == 0 and obs[k] > 0)
        msg = f"Group {unplanned!r} received units although no traffic was planned for it."
        return SRMResult(obs, shares, math.inf, 0.0, True, msg)
    planned = [k for k in names if shares[k] > 0]
    f_obs = np.array([obs[k] for k in planned], dtype=float)
    f_exp = np.array([shares[k] * total for k in planned])
    chi2, p_value = sps.chisquare(f_obs, f_exp)
    flagged = bool(p_value < threshold)
    worst = max(planned, key=lambda k: abs(obs[k] / total - shares[k]) / shares[k])
    if flagged:
        msg = (
            f"Sample ratio mismatch: {worst!r} has {obs[worst] / total:.1%} of units where "
            f"{shares[worst]:.1%} was planned (p = {p_value:.2g}), so assignment or logging may be "
            "broken and the results should not be trusted until this is explained."
        )
    else:
        msg = (
            f"Units are split across groups as planned (p = {p_value:.2g}), "
            "so there is no sign of a sample ratio mismatch."
        )
    return SRMResult(obs, shares, float(chi2), float(p_value), flagged, msg)
