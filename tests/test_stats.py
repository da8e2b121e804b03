"""Tests for insights.stats and insights.power against published values and independent routes.

Every expected number names its source; tolerances are half a unit in the last published digit
unless stated otherwise.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from insights import power as pw
from insights import stats as s
from insights import stats_experiment as exs

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

# GrowthBook gbstats test fixtures (packages/stats/tests), sufficient statistics of two means.
GB_CONTROL = s.SampleStats(n=3407, sum=1396.87, sum_sq=52377.9767)
GB_VARIANT = s.SampleStats(n=3461, sum=2422.7, sum_sq=134698.29)

# Benjamini & Hochberg (1995), section 4.1: the 15 p-values of the myocardial infarction study.
BH_PVALUES = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
    0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
]


# --- sufficient statistics -------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=0, max_size=60))
def test_sample_stats_from_values_matches_numpy(values: list[float]) -> None:
    arr = np.array(values, dtype=float)
    ss = s.SampleStats.from_values(values)
    scale = 1.0 + float(np.max(np.abs(arr))) if arr.size else 1.0
    assert ss.n == arr.size
    assert ss.sum == pytest.approx(arr.sum(), abs=1e-9 * scale * max(1, arr.size))
    assert ss.sum_sq == pytest.approx((arr**2).sum(), rel=1e-12, abs=1e-12)
    if arr.size:
        assert ss.mean == pytest.approx(arr.mean(), abs=1e-9 * scale)
    else:
        assert math.isnan(ss.mean)
    if arr.size >= 2:
        # naive sum-of-squares loses about eps * sum_sq / n absolute precision
        assert ss.variance == pytest.approx(np.var(arr, ddof=1), abs=1e-9 * scale**2)
        assert ss.variance >= 0
    else:
        assert math.isnan(ss.variance)


@given(st.lists(finite, max_size=30), st.lists(finite, max_size=30))
def test_sample_stats_add_equals_stats_of_concatenation(a: list[float], b: list[float]) -> None:
    pooled = s.SampleStats.from_values(a) + s.SampleStats.from_values(b)
    direct = s.SampleStats.from_values(a + b)
    assert pooled.n == direct.n
    assert pooled.sum == pytest.approx(direct.sum, rel=1e-9, abs=1e-6)
    assert pooled.sum_sq == pytest.approx(direct.sum_sq, rel=1e-9, abs=1e-6)


def test_binary_stats_variance_is_binomial_with_bessel_correction() -> None:
    ss = s.binary_stats(30, 100)
    assert ss.mean == pytest.approx(0.3, abs=1e-15)
    assert ss.variance == pytest.approx(0.3 * 0.7 * 100 / 99, rel=1e-12)
    assert ss.std_err == pytest.approx(math.sqrt(0.3 * 0.7 / 99), rel=1e-12)


def test_results_pickle_and_convert_to_dict() -> None:
    results: list[Any] = [
        s.welch_test(GB_CONTROL, GB_VARIANT),
        s.srm_test({"a": 10, "b": 12}),
        exs.bayes_compare(GB_CONTROL, GB_VARIANT),
        exs.cuped(GB_CONTROL, GB_CONTROL, 1.0, GB_VARIANT, GB_VARIANT, 1.0),
        GB_CONTROL,
    ]
    for result in results:
        assert repr(pickle.loads(pickle.dumps(result))) == repr(result)  # repr: NaN != NaN
        assert isinstance(dataclasses.asdict(result), dict)


# --- two proportions -------------------------------------------------------------------------

def test_two_proportion_p_matches_statsmodels_docstring() -> None:
    # statsmodels proportions_ztest docstring: counts [5, 12] of [83, 99] -> p-value 0.159
    result = s.two_proportion_test(5, 83, 12, 99)
    assert result.p_value == pytest.approx(0.159, abs=5e-4)
    assert result.error is None


def test_chi_square_of_smokers_matches_r_prop_test() -> None:
    # R: prop.test(smokers <- c(83, 90, 129, 70), patients <- c(86, 93, 136, 82))
    # X-squared = 12.6, df = 3, p-value = 0.005585 (no continuity correction beyond 2 groups)
    smokers = np.array([83, 90, 129, 70])
    patients = np.array([86, 93, 136, 82])
    table = np.column_stack([smokers, patients - smokers])
    chi2, p, dof, _ = sps.chi2_contingency(table)
    assert dof == 3
    assert chi2 == pytest.approx(12.6, abs=0.05)
    assert p == pytest.approx(0.005585, abs=5e-7)


@given(
    st.integers(1, 400), st.integers(1, 400), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
)
def test_two_proportion_p_equals_chi_square_without_yates(
    n_a: int, n_b: int, f_a: float, f_b: float
) -> None:
    # Two routes: the pooled z-test p equals the uncorrected 2x2 chi-square p (z^2 = chi^2).
    x_a, x_b = round(f_a * n_a), round(f_b * n_b)
    if x_a + x_b in (0, n_a + n_b):
        return
    table = np.array([[x_a, n_a - x_a], [x_b, n_b - x_b]])
    _, p_chi2, _, _ = sps.chi2_contingency(table, correction=False)
    assert s.two_proportion_test(x_a, n_a, x_b, n_b).p_value == pytest.approx(p_chi2, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    # Newcombe (1998) Stat Med 17:857, table I, method 3 (Wilson score)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611)],
)
def test_wilson_interval_matches_newcombe_table_1(x: int, n: int, low: float, high: float) -> None:
    got = s.wilson_interval(x, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_newcombe_difference_interval_matches_paper() -> None:
    # Newcombe (1998) Stat Med 17:873, example 56/70 vs 48/80:
    # method 10 (hybrid score) 0.0524 to 0.3339; method 1 (Wald) 0.0575 to 0.3425
    assert s.newcombe_diff_interval(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert s.wald_diff_interval(56, 70, 48, 80) == pytest.approx((0.0575, 0.3425), abs=5e-5)
    result = s.two_proportion_test(48, 80, 56, 70)
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert result.abs_diff == pytest.approx(0.2, abs=1e-12)


def test_two_proportion_relative_lift_matches_growthbook() -> None:
    # GrowthBook gbstats frequentist fixture, binomial 14/28 vs 16/30:
    # relative lift 0.06667, CI (-0.47767, 0.61101), p 0.80707
    result = s.two_proportion_test(14, 28, 16, 30)
    assert result.rel_lift == pytest.approx(0.06667, abs=5e-6)
    assert (result.rel_ci_low, result.rel_ci_high) == pytest.approx((-0.47767, 0.61101), abs=5e-6)
    assert result.rel_p_value == pytest.approx(0.80707, abs=5e-6)


# --- Welch ------------------------------------------------------------------------------------

def test_welch_matches_growthbook_fixture() -> None:
    # GrowthBook gbstats fixture: absolute 0.29, CI (0.04538, 0.53462), p 0.02016;
    # relative 0.70732, CI (-0.03526, 1.44989), p 0.06191
    result = s.welch_test(GB_CONTROL, GB_VARIANT)
    assert result.error is None
    assert result.abs_diff == pytest.approx(0.29, abs=1e-12)
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((0.04538, 0.53462), abs=5e-6)
    assert result.p_value == pytest.approx(0.02016, abs=5e-6)
    assert result.rel_lift == pytest.approx(0.70732, abs=5e-6)
    assert (result.rel_ci_low, result.rel_ci_high) == pytest.approx((-0.03526, 1.44989), abs=5e-6)
    assert result.rel_p_value == pytest.approx(0.06191, abs=5e-6)


def test_welch_equals_scipy_on_raw_values() -> None:
    # Two routes: sufficient statistics vs scipy.stats.ttest_ind(equal_var=False) on the rows.
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(0, 1, 300), rng.lognormal(0.1, 1.2, 250)
    result = s.welch_test(s.SampleStats.from_values(a), s.SampleStats.from_values(b))
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_welch_relative_lift_keeps_sign_for_negative_baseline() -> None:
    control = s.SampleStats.from_values([-3.0, -2.0, -1.0])
    variant = s.SampleStats.from_values([-2.0, -1.0, 0.0])
    result = s.welch_test(control, variant)
    assert result.abs_diff == pytest.approx(1.0)
    assert result.rel_lift == pytest.approx(0.5)  # improved from -2 to -1: +50%, not -50%
    assert result.rel_ci_low < 0.5 < result.rel_ci_high


# --- degenerate input ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("control", "variant"),
    [
        (s.SampleStats(0, 0.0, 0.0), s.SampleStats(5, 5.0, 7.0)),
        (s.SampleStats(1, 2.0, 4.0), s.SampleStats(5, 5.0, 7.0)),
    ],
)
def test_welch_with_too_few_units_returns_error(control: s.SampleStats, variant: s.SampleStats) -> None:
    result = s.welch_test(control, variant)
    assert result.error == "too_few_units"
    assert math.isnan(result.p_value) and math.isnan(result.abs_ci_low)


def test_welch_with_zero_variance_returns_error() -> None:
    result = s.welch_test(s.SampleStats.from_values([2.0] * 5), s.SampleStats.from_values([3.0] * 7))
    assert result.error == "zero_variance"
    assert result.abs_diff == pytest.approx(1.0)
    assert math.isnan(result.p_value)


def test_welch_with_zero_baseline_keeps_absolute_numbers() -> None:
    result = s.welch_test(s.SampleStats.from_values([-1.0, 1.0, 0.0]), s.SampleStats.from_values([1.0, 2.0, 3.0]))
    assert result.error == "zero_baseline"
    assert math.isnan(result.rel_lift)
    assert 0 < result.p_value < 1 and result.abs_ci_low < 2 < result.abs_ci_high


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((0, 0, 3, 10), "too_few_units"),
        ((3, 10, 0, 0), "too_few_units"),
        ((11, 10, 3, 10), "invalid_counts"),
        ((-1, 10, 3, 10), "invalid_counts"),
        ((0, 50, 0, 60), "no_conversions"),
        ((50, 50, 60, 60), "zero_variance"),
        ((0, 50, 4, 60), "zero_baseline"),
    ],
)
def test_two_proportion_degenerate_input_returns_error(args: tuple[int, int, int, int], code: str) -> None:
    result = s.two_proportion_test(*args)
    assert result.error == code
    assert math.isnan(result.rel_lift)


def test_two_proportion_zero_baseline_still_has_p_and_interval() -> None:
    result = s.two_proportion_test(0, 50, 4, 60)
    assert 0 < result.p_value < 1
    assert result.abs_ci_low < 4 / 60 < result.abs_ci_high


def test_interval_helpers_return_nan_for_empty_groups() -> None:
    assert all(math.isnan(v) for v in s.wilson_interval(0, 0))
    assert all(math.isnan(v) for v in s.newcombe_diff_interval(1, 0, 1, 5))
    assert all(math.isnan(v) for v in exs.sequential_interval(s.SampleStats(1, 1.0, 1.0), GB_VARIANT))
    zero = s.SampleStats.from_values([1.0, 1.0, 1.0])
    assert all(math.isnan(v) for v in exs.sequential_interval(zero, zero))
    assert all(math.isnan(v) for v in exs.sequential_interval(GB_CONTROL, GB_VARIANT, alpha=0.0))


# --- multiple testing ----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "rejected"), [("bh", 4), ("holm", 3), ("bonferroni", 3)])
def test_adjusted_pvalues_reject_as_in_benjamini_hochberg_1995(method: s.CorrectionMethod, rejected: int) -> None:
    # Benjamini & Hochberg (1995): at 0.05, BH rejects 4 of the 15, Bonferroni and Holm reject 3.
    adjusted = s.adjust_pvalues(BH_PVALUES, method)
    assert sum(p <= 0.05 for p in adjusted) == rejected
    assert all(a >= p for a, p in zip(adjusted, BH_PVALUES, strict=True))


def test_adjusted_pvalues_bh_values() -> None:
    # BH adjusted p_(i) = min_{j>=i} p_(j) * m / j; hand-computed for the 4th: 0.0095 * 15 / 4.
    adjusted = s.adjust_pvalues(BH_PVALUES, "bh")
    assert adjusted[3] == pytest.approx(0.035625, abs=1e-12)
    assert adjusted[0] == pytest.approx(0.0001 * 15, abs=1e-12)


def test_adjusted_pvalues_ignore_nan() -> None:
    with_nan = s.adjust_pvalues([0.01, math.nan, 0.04, 0.03], "bh")
    without = s.adjust_pvalues([0.01, 0.04, 0.03], "bh")
    assert math.isnan(with_nan[1])
    assert [with_nan[0], with_nan[2], with_nan[3]] == pytest.approx(without, abs=1e-15)
    assert s.adjust_pvalues([], "holm") == []
    assert all(math.isnan(p) for p in s.adjust_pvalues([math.nan, math.nan]))


# --- sample ratio mismatch -------------------------------------------------------------------------

def test_srm_flags_10000_vs_10500() -> None:
    # chi-square goodness of fit, 1 df: (250^2 / 10250) * 2 = 12.195, p = 0.000479
    result = s.srm_test({"control": 10000, "variant": 10500})
    assert result.chi2 == pytest.approx(12.1951, abs=5e-5)
    assert result.p_value == pytest.approx(0.000479, abs=5e-7)
    assert result.flagged
    assert result.message.count(". ") == 0 and "'control'" in result.message


def test_srm_respects_planned_shares() -> None:
    result = s.srm_test({"a": 9000, "b": 1000}, {"a": 90, "b": 10})
    assert result.expected_shares == pytest.approx({"a": 0.9, "b": 0.1})
    assert result.chi2 == pytest.approx(0.0, abs=1e-12) and not result.flagged


def test_srm_degenerate_inputs_do_not_raise() -> None:
    assert s.srm_test({"a": 10}).error == "too_few_groups"
    assert s.srm_test({"a": 0, "b": 0}).error == "too_few_units"
    unplanned = s.srm_test({"a": 10, "b": 10, "c": 3}, {"a": 0.5, "b": 0.5})
    assert unplanned.flagged and "'c'" in unplanned.message


# --- Bayesian ---------------------------------------------------------------------------------------

def test_bayes_chance_to_win_matches_growthbook() -> None:
    # GrowthBook gbstats Bayesian binomial fixture 49/100 vs 51/100: chance to win 0.60918.
    # Reproduced by a Gaussian on the relative lift with delta-method variance and binomial
    # variance p(1 - p); the absolute scale gives 0.6114 and the log ratio 0.6113.
    result = exs.bayes_compare_proportions(49, 100, 51, 100)
    assert result.chance_to_win == pytest.approx(0.60918, abs=5e-6)
    assert result.scale == "relative"
    absolute = exs.bayes_compare_proportions(49, 100, 51, 100, scale="absolute")
    assert absolute.chance_to_win == pytest.approx(0.6114, abs=5e-5)
    # From SampleStats the variance has Bessel's correction: a slightly smaller chance to win.
    ss = exs.bayes_compare(s.binary_stats(49, 100), s.binary_stats(51, 100))
    assert ss.chance_to_win == pytest.approx(0.60918, abs=1e-3)


def test_bayes_flat_prior_matches_frequentist_normal_route() -> None:
    result = exs.bayes_compare(GB_CONTROL, GB_VARIANT, scale="absolute")
    se = math.sqrt(GB_CONTROL.variance / GB_CONTROL.n + GB_VARIANT.variance / GB_VARIANT.n)
    assert result.chance_to_win == pytest.approx(sps.norm.cdf(0.29 / se), rel=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.29 - 1.959964 * se, 0.29 + 1.959964 * se), abs=1e-6)
    # expected loss E[max(0, -d)] by numerical integration
    grid = np.linspace(-10 * se, 0, 200001) + 0.0
    density = sps.norm.pdf(grid, 0.29, se)
    assert result.expected_loss == pytest.approx(np.trapezoid(-grid * density, grid), rel=1e-6)


def test_bayes_proper_prior_shrinks_towards_prior_mean() -> None:
    flat = exs.bayes_compare(GB_CONTROL, GB_VARIANT)
    tight = exs.bayes_compare(GB_CONTROL, GB_VARIANT, prior_mean=0.0, prior_var=0.01)
    assert 0 < tight.posterior_mean < flat.posterior_mean
    assert tight.posterior_sd < flat.posterior_sd
    assert tight.chance_to_win < flat.chance_to_win


def test_bayes_degenerate_inputs_return_error() -> None:
    one = s.SampleStats(1, 1.0, 1.0)
    assert exs.bayes_compare(one, GB_VARIANT).error == "too_few_units"
    flat = s.SampleStats.from_values([1.0, 1.0, 1.0])
    assert exs.bayes_compare(flat, flat).error == "zero_variance"
    assert exs.bayes_compare(GB_CONTROL, GB_VARIANT, prior_var=0.0).error == "invalid_prior"
    assert exs.bayes_compare_proportions(0, 100, 3, 100).error == "zero_baseline"
    assert exs.bayes_compare_proportions(5, 0, 3, 100).error == "too_few_units"
    assert math.isnan(exs.bayes_compare(one, GB_VARIANT).chance_to_win)


# --- sequential ---------------------------------------------------------------------------------------

def test_sequential_interval_is_wider_than_fixed_horizon_and_consistent_with_p() -> None:
    low, high, p = exs.sequential_interval(GB_CONTROL, GB_VARIANT)
    fixed = s.welch_test(GB_CONTROL, GB_VARIANT)
    assert low < fixed.abs_ci_low and high > fixed.abs_ci_high
    assert (low + high) / 2 == pytest.approx(0.29, abs=1e-12)
    assert p > fixed.p_value


def _shift(stats_: s.SampleStats, delta: float) -> s.SampleStats:
    return s.SampleStats(
        stats_.n, stats_.sum + stats_.n * delta, stats_.sum_sq + 2 * delta * stats_.sum + stats_.n * delta**2
    )


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_sequential_p_below_alpha_exactly_when_interval_excludes_zero(alpha: float) -> None:
    for delta in np.linspace(-0.6, 0.4, 101):
        low, high, p = exs.sequential_interval(GB_CONTROL, _shift(GB_VARIANT, float(delta)), alpha=alpha)
        assert (p < alpha) == (low > 0 or high < 0)


def test_sequential_p_value_is_inverse_mixture_likelihood_ratio() -> None:
    # Howard et al. (2021) normal mixture: M = (1 + N rho^2)^(-1/2) exp(N^2 rho^2 d^2 / (2 s2 (1 + N rho^2)))
    n = GB_CONTROL.n + GB_VARIANT.n
    s2 = n * (GB_CONTROL.variance / GB_CONTROL.n + GB_VARIANT.variance / GB_VARIANT.n)
    log_a = math.log(0.05)
    rho2 = (-2 * log_a + math.log(1 - 2 * log_a)) / 5000
    m = (1 + n * rho2) ** -0.5 * math.exp(n**2 * rho2 * 0.29**2 / (2 * s2 * (1 + n * rho2)))
    assert exs.sequential_interval(GB_CONTROL, GB_VARIANT)[2] == pytest.approx(min(1.0, 1 / m), rel=1e-9)


# --- CUPED ----------------------------------------------------------------------------------------------

def _cuped_inputs(seed: int, effect: float = 0.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x_a, x_b = rng.normal(10, 2, 400), rng.normal(10, 2, 380)
    y_a = 3 + 0.8 * x_a + rng.normal(0, 1, 400)
    y_b = 3 + effect + 0.8 * x_b + rng.normal(0, 1, 380)
    return x_a, y_a, x_b, y_b


def _run_cuped(x_a: np.ndarray, y_a: np.ndarray, x_b: np.ndarray, y_b: np.ndarray) -> exs.CupedResult:
    return exs.cuped(
        s.SampleStats.from_values(y_a), s.SampleStats.from_values(x_a), float(x_a @ y_a),
        s.SampleStats.from_values(y_b), s.SampleStats.from_values(x_b), float(x_b @ y_b),
    )


def test_cuped_difference_equals_ancova_treatment_coefficient() -> None:
    # Two routes: CUPED with pooled within-group theta equals OLS y ~ 1 + treated + x.
    x_a, y_a, x_b, y_b = _cuped_inputs(3, effect=0.5)
    result = _run_cuped(x_a, y_a, x_b, y_b)
    design = np.column_stack([
        np.ones(780), np.r_[np.zeros(400), np.ones(380)], np.r_[x_a, x_b],
    ])
    fit = sm.OLS(np.r_[y_a, y_b], design).fit()
    assert result.comparison.abs_diff == pytest.approx(fit.params[1], rel=1e-9)
    assert result.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert result.error is None
    # theoretical reduction is rho^2 = 0.8^2 * 4 / (0.8^2 * 4 + 1) = 0.719
    assert result.variance_reduction == pytest.approx(0.719, abs=0.05)


def test_cuped_with_constant_covariate_falls_back_to_welch() -> None:
    _, y_a, _, y_b = _cuped_inputs(4)
    x_a, x_b = np.ones_like(y_a), np.ones_like(y_b)
    result = _run_cuped(x_a, y_a, x_b, y_b)
    plain = s.welch_test(s.SampleStats.from_values(y_a), s.SampleStats.from_values(y_b))
    assert result.theta == 0.0
    assert result.variance_reduction == pytest.approx(0.0, abs=1e-12)
    assert result.comparison.p_value == pytest.approx(plain.p_value, rel=1e-9)


def test_cuped_degenerate_inputs_return_error() -> None:
    y = s.SampleStats.from_values([1.0, 2.0, 3.0])
    x = s.SampleStats.from_values([1.0, 2.0])
    assert exs.cuped(y, x, 5.0, y, y, 14.0).error == "mismatched_n"
    one = s.SampleStats(1, 1.0, 1.0)
    assert exs.cuped(one, one, 1.0, y, y, 14.0).error == "too_few_units"


# --- power -------------------------------------------------------------------------------------------

def test_sample_size_reproduces_cohen_64_per_group() -> None:
    # Cohen (1988), table 2.4.1: d = 0.5, two-sided alpha 0.05, power 0.8 -> n = 64 per group.
    assert pw.sample_size_per_group(10.0, 10.0, 0.5) == 64
    assert pw.power(64, 0.5, 1.0) >= 0.8 > pw.power(63, 0.5, 1.0)
    assert pw.mde(64, 10.0, 10.0) == pytest.approx(0.5, abs=0.005)


def test_binary_sample_size_and_mde_are_inverse() -> None:
    n = pw.sample_size_per_group(0.1, None, 0.1)
    # Cohen's h route: n = 2 ((z_.975 + z_.8) / h)^2 with h = 2 asin(sqrt .11) - 2 asin(sqrt .1)
    h = 2 * math.asin(math.sqrt(0.11)) - 2 * math.asin(math.sqrt(0.1))
    assert n == math.ceil(2 * ((sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) / h) ** 2)
    # the unpooled normal formula (p1 q1 + p2 q2)(z_a + z_b)^2 / d^2 gives 14,750: within 0.1%
    assert n == pytest.approx(14750, rel=1e-3)
    assert pw.mde(n, 0.1, None) == pytest.approx(0.1, abs=1e-3)
    assert pw.mde(n, 0.1, None) <= 0.1


def test_power_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="alpha"):
        pw.sample_size_per_group(0.1, None, 0.1, alpha=1.5)
    with pytest.raises(ValueError, match="standard deviation"):
        pw.sample_size_per_group(1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="non-zero baseline"):
        pw.mde(100, 0.0, 1.0)
    with pytest.raises(ValueError, match="target conversion rate"):
        pw.sample_size_per_group(0.6, None, 1.0)
    assert math.isnan(pw.mde(2, 0.99, None))


# --- real data: Cookie Cats --------------------------------------------------------------------------------

@pytest.mark.skipif(not (DATA_DIR / "cookie_cats").is_dir(), reason="../shared/data/cookie_cats not present")
def test_cookie_cats_matches_published_results() -> None:
    # Published analyses of the Cookie Cats A/B test (DataCamp project, see SOURCE.md):
    # 44,700 vs 45,489 players; retention_7 19.02% vs 18.20%, p = 0.0016; retention_1
    # 44.82% vs 44.23%, p = 0.0744; SRM p = 0.0086.
    import pandas as pd

    df = pd.read_csv(DATA_DIR / "cookie_cats" / "cookie_cats.csv")
    groups = {name: part for name, part in df.groupby("version")}
    n_a, n_b = len(groups["gate_30"]), len(groups["gate_40"])
    assert (n_a, n_b) == (44700, 45489)
    kept = {col: [int(groups[v][col].sum()) for v in ("gate_30", "gate_40")] for col in ("retention_1", "retention_7")}
    r7 = s.two_proportion_test(kept["retention_7"][0], n_a, kept["retention_7"][1], n_b)
    assert (r7.control_mean, r7.variant_mean) == pytest.approx((0.1902, 0.1820), abs=5e-5)
    assert r7.p_value == pytest.approx(0.0016, abs=5e-5)
    r1 = s.two_proportion_test(kept["retention_1"][0], n_a, kept["retention_1"][1], n_b)
    assert r1.p_value == pytest.approx(0.0744, abs=5e-5)
    srm = s.srm_test({"gate_30": n_a, "gate_40": n_b})
    assert srm.p_value == pytest.approx(0.0086, abs=5e-5)
    assert not srm.flagged  # below 0.05 but above the 0.001 SRM threshold
    # sufficient statistics of a numeric column equal numpy on the raw rows
    rounds = groups["gate_30"].sum_gamerounds.to_numpy(dtype=float)
    ss = s.SampleStats.from_values(rounds)
    assert ss.mean == pytest.approx(rounds.mean(), rel=1e-12)
    assert ss.variance == pytest.approx(rounds.var(ddof=1), rel=1e-9)
