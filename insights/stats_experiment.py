"""The experiment's further views on sufficient statistics: Bayesian comparison, always-valid intervals, CUPED.

Same conventions as :mod:`insights.stats` (raw floats, NaN for undefined numbers, an ``error`` code instead of
an exception).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as sps

from insights.stats import (
    INVALID_COUNTS,
    INVALID_PRIOR,
    MISMATCHED_N,
    NAN,
    TOO_FEW_UNITS,
    ZERO_BASELINE,
    ZERO_VARIANCE,
    Comparison,
    EffectScale,
    SampleStats,
    welch_from_moments,
    welch_test,
)


@dataclass(frozen=True, slots=True)
class BayesResult:
    """Bayesian comparison under a Gaussian model on the effect.

    Attributes
    ----------
    chance_to_win : float
        Posterior probability that the variant beats control (effect > 0).
    expected_loss : float
        Posterior expected loss of shipping the variant, E[max(0, -effect)], on ``scale``.
    ci_low, ci_high : float
        Equal-tailed credible interval for the absolute difference of means.
    rel_ci_low, rel_ci_high : float
        The same interval for the relative lift.
    posterior_mean, posterior_sd : float
        Posterior of the effect on ``scale``.
    scale : str
        ``"relative"`` or ``"absolute"``: the scale the model (and prior) lives on. The interval
        on the other scale is converted at the observed control mean.
    error : str or None
        Error code when the posterior is undefined.
    """

    chance_to_win: float
    expected_loss: float
    ci_low: float
    ci_high: float
    rel_ci_low: float = NAN
    rel_ci_high: float = NAN
    posterior_mean: float = NAN
    posterior_sd: float = NAN
    scale: str = "relative"
    error: str | None = None


def _bayes_from_moments(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int,
    prior_mean: float, prior_var: float | None, scale: EffectScale, alpha: float,
) -> BayesResult:
    def fail(code: str) -> BayesResult:
        return BayesResult(NAN, NAN, NAN, NAN, scale=scale, error=code)

    if prior_var is not None and not prior_var > 0:
        return fail(INVALID_PRIOR)
    if n_a < 2 or n_b < 2:
        return fail(TOO_FEW_UNITS)
    if scale == "relative":
        if mean_a == 0:
            return fail(ZERO_BASELINE)
        effect = (mean_b - mean_a) / abs(mean_a)
        var = var_b / (n_b * mean_a**2) + mean_b**2 * var_a / (n_a * mean_a**4)
    else:
        effect = mean_b - mean_a
        var = var_a / n_a + var_b / n_b
    if not var > 0:
        return fail(ZERO_VARIANCE)
    if prior_var is None:
        post_mean, post_var = effect, var
    else:
        post_var = 1.0 / (1.0 / prior_var + 1.0 / var)
        post_mean = post_var * (prior_mean / prior_var + effect / var)
    sd = math.sqrt(post_var)
    z = post_mean / sd
    ctw = float(sps.norm.cdf(z))
    loss = float(sd * sps.norm.pdf(z) - post_mean * sps.norm.cdf(-z))
    q = float(sps.norm.ppf(1 - alpha / 2))
    low, high = post_mean - q * sd, post_mean + q * sd
    base = abs(mean_a)
    if scale == "relative":
        abs_ci = (low * base, high * base)
        rel_ci = (low, high)
    else:
        abs_ci = (low, high)
        rel_ci = (low / base, high / base) if base > 0 else (NAN, NAN)
    return BayesResult(ctw, loss, *abs_ci, *rel_ci, post_mean, sd, scale)


def bayes_compare(
    control: SampleStats,
    variant: SampleStats,
    prior_mean: float = 0.0,
    prior_var: float | None = None,
    scale: EffectScale = "relative",
    alpha: float = 0.05,
) -> BayesResult:
    """Chance to win, expected loss and credible intervals (Gaussian model, as GrowthBook).

    The effect estimate is treated as normal with its frequentist variance (delta method on the
    relative scale, the default). ``prior_var=None`` is a flat prior; otherwise the prior is
    ``N(prior_mean, prior_var)`` on ``scale`` and combines with the estimate by precision.
    Variances are sample variances (ddof=1); for a 0/1 metric use
    :func:`bayes_compare_proportions`, whose binomial variance reproduces GrowthBook exactly.
    """
    return _bayes_from_moments(
        control.mean, control.variance, control.n, variant.mean, variant.variance, variant.n,
        prior_mean, prior_var, scale, alpha,
    )


def bayes_compare_proportions(
    x_control: int,
    n_control: int,
    x_variant: int,
    n_variant: int,
    prior_mean: float = 0.0,
    prior_var: float | None = None,
    scale: EffectScale = "relative",
    alpha: float = 0.05,
) -> BayesResult:
    """:func:`bayes_compare` for conversion counts, with binomial variances p(1 - p)."""
    if n_control <= 0 or n_variant <= 0 or not (0 <= x_control <= n_control and 0 <= x_variant <= n_variant):
        code = TOO_FEW_UNITS if n_control <= 0 or n_variant <= 0 else INVALID_COUNTS
        return BayesResult(NAN, NAN, NAN, NAN, scale=scale, error=code)
    p_a, p_b = x_control / n_control, x_variant / n_variant
    return _bayes_from_moments(
        p_a, p_a * (1 - p_a), n_control, p_b, p_b * (1 - p_b), n_variant,
        prior_mean, prior_var, scale, alpha,
    )


def sequential_interval(
    control: SampleStats, variant: SampleStats, alpha: float = 0.05, tuning: float = 5000
) -> tuple[float, float, float]:
    """Always-valid CI and p-value for the absolute difference of means.

    Asymptotic normal-mixture confidence sequence (Howard et al. 2021, Waudby-Smith et al.
    2023) over ``N = n_control + n_variant`` units with per-unit variance
    ``s2 = N * (var_a / n_a + var_b / n_b)``; the mixing precision ``rho^2`` is chosen to be
    tightest at ``N = tuning`` (GrowthBook's default tuning is 5000):

    ``rho^2 = (-2 log(alpha) + log(1 - 2 log(alpha))) / tuning``
    ``halfwidth = sqrt(s2 * 2 (N rho^2 + 1) / (N^2 rho^2) * log(sqrt(N rho^2 + 1) / alpha))``

    The p-value is the inverse of the mixture likelihood ratio at this ``rho``, capped at 1:
    it is below ``alpha`` exactly when the interval excludes 0. It is valid at any look; when
    monitoring, report the running minimum over looks. Returns (NaN, NaN, NaN) when undefined
    (fewer than 2 units in a group, zero variance, alpha outside (0, 1), tuning <= 0).
    """
    if control.n < 2 or variant.n < 2 or not (0 < alpha < 1 and tuning > 0):
        return NAN, NAN, NAN
    var_diff = control.variance / control.n + variant.variance / variant.n
    if not var_diff > 0:
        return NAN, NAN, NAN
    total = control.n + variant.n
    s2 = total * var_diff
    log_a = math.log(alpha)
    rho2 = (-2 * log_a + math.log(1 - 2 * log_a)) / tuning
    k = total * rho2 + 1
    half = math.sqrt(s2 * 2 * k / (total**2 * rho2) * math.log(math.sqrt(k) / alpha))
    diff = variant.mean - control.mean
    log_p = 0.5 * math.log(k) - diff**2 * total**2 * rho2 / (2 * s2 * k)
    return diff - half, diff + half, min(1.0, math.exp(log_p))


@dataclass(frozen=True, slots=True)
class CupedResult:
    """CUPED (Deng et al. 2013) regression-adjusted comparison.

    Attributes
    ----------
    theta : float
        Adjustment coefficient: pooled within-group cov(y, x) / var(x).
    control_mean_adjusted, variant_mean_adjusted : float
        ``mean_y - theta * (mean_x - pooled mean_x)`` per group.
    control_var_adjusted, variant_var_adjusted : float
        Per-unit variance of the adjusted metric per group.
    variance_reduction : float
        ``1 - Var(adjusted diff) / Var(unadjusted diff)``; about ``rho^2`` for correlation rho.
    comparison : Comparison
        Welch comparison on the adjusted metric.
    error : str or None
        Error code when the adjustment cannot be computed.
    """

    theta: float
    control_mean_adjusted: float
    variant_mean_adjusted: float
    control_var_adjusted: float
    variant_var_adjusted: float
    variance_reduction: float
    comparison: Comparison
    error: str | None = None


def cuped(
    control_y: SampleStats,
    control_x: SampleStats,
    control_xy: float,
    variant_y: SampleStats,
    variant_x: SampleStats,
    variant_xy: float,
    alpha: float = 0.05,
) -> CupedResult:
    """CUPED with a covariate ``x`` measured before exposure (e.g. the pre-period metric).

    ``control_xy`` and ``variant_xy`` are the sums of ``x * y`` over each group's units.
    ``theta`` pools the within-group centred cross-products of both groups, so it is the same
    for both and does not pick up the treatment effect. A constant covariate gives
    ``theta = 0`` and the unadjusted comparison.
    """
    naive = welch_test(control_y, variant_y, alpha)
    if control_x.n != control_y.n or variant_x.n != variant_y.n:
        return CupedResult(NAN, NAN, NAN, NAN, NAN, NAN, naive, MISMATCHED_N)
    if control_y.n < 2 or variant_y.n < 2:
        return CupedResult(NAN, NAN, NAN, NAN, NAN, NAN, naive, TOO_FEW_UNITS)
    groups = ((control_y, control_x, control_xy), (variant_y, variant_x, variant_xy))
    cov = [(xy - x.sum * y.sum / y.n) / (y.n - 1) for y, x, xy in groups]
    var_x = [x.variance for _, x, _ in groups]
    denom = sum(v * (y.n - 1) for v, (y, _, _) in zip(var_x, groups, strict=True))
    numer = sum(c * (y.n - 1) for c, (y, _, _) in zip(cov, groups, strict=True))
    theta = numer / denom if denom > 0 else 0.0
    x_bar = (control_x.sum + variant_x.sum) / (control_x.n + variant_x.n)
    means = [y.mean - theta * (x.mean - x_bar) for y, x, _ in groups]
    variances = [
        max(0.0, y.variance + theta**2 * vx - 2 * theta * c)
        for (y, _, _), vx, c in zip(groups, var_x, cov, strict=True)
    ]
    comparison = welch_from_moments(
        means[0], variances[0], control_y.n, means[1], variances[1], variant_y.n, alpha
    )
    before = control_y.variance / control_y.n + variant_y.variance / variant_y.n
    after = variances[0] / control_y.n + variances[1] / variant_y.n
    reduction = 1 - after / before if before > 0 else NAN
    return CupedResult(
        theta, means[0], means[1], variances[0], variances[1], reduction, comparison, comparison.error
    )
