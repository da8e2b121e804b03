"""Simulation checks of error rates, peeking safety, CUPED and power (seeded, vectorised).

With 1,000 simulated experiments a 5% rate has a binomial standard error of 0.69 points, so
"about 5%" is checked as 3.2%..6.8% (about 2.6 standard errors either side).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from insights import power as pw
from insights import stats as s
from insights import stats_experiment as exs

pytestmark = pytest.mark.slow

N_SIM = 1000
ALPHA = 0.05
FPR_BAND = (0.032, 0.068)


def _normal_group_stats(rng: np.random.Generator, n: int, size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Sums and sums of squares of ``n`` standard normal draws, generated exactly from
    the independent sample mean (normal) and centred sum of squares (chi-square, n - 1 df)."""
    means = rng.normal(0.0, 1.0 / math.sqrt(n), size)
    centred = rng.chisquare(n - 1, size)
    return n * means, centred + n * means**2


def _welch_pvalues(n: int, sums: np.ndarray, sums_sq: np.ndarray) -> np.ndarray:
    """Welch p-values of group 1 against group 0 for each simulated experiment (row)."""
    return np.array([
        s.welch_test(s.SampleStats(n, a, aa), s.SampleStats(n, b, bb)).p_value
        for (a, b), (aa, bb) in zip(sums, sums_sq, strict=True)
    ])


def test_welch_false_positive_rate_on_aa_tests_is_alpha() -> None:
    rng = np.random.default_rng(20240601)
    values = rng.exponential(1.0, size=(N_SIM, 2, 200))  # skewed, like revenue
    sums, sums_sq = values.sum(axis=2), (values**2).sum(axis=2)
    p = _welch_pvalues(200, sums, sums_sq)
    fpr = float(np.mean(p < ALPHA))
    assert FPR_BAND[0] <= fpr <= FPR_BAND[1], fpr


def test_two_proportion_false_positive_rate_and_coverage_on_aa_tests() -> None:
    rng = np.random.default_rng(20240602)
    counts = rng.binomial(2000, 0.1, size=(N_SIM, 2))
    results = [s.two_proportion_test(int(a), 2000, int(b), 2000) for a, b in counts]
    fpr = float(np.mean([r.p_value < ALPHA for r in results]))
    coverage = float(np.mean([r.abs_ci_low <= 0 <= r.abs_ci_high for r in results]))
    assert FPR_BAND[0] <= fpr <= FPR_BAND[1], fpr
    assert 1 - FPR_BAND[1] <= coverage <= 1 - FPR_BAND[0], coverage


def test_sequential_intervals_survive_daily_peeking_where_naive_tests_do_not() -> None:
    # 14 daily looks, 200 new units per group per day, conversion rate 20% in both groups.
    rng = np.random.default_rng(20240603)
    days, per_day = 14, 200
    daily = rng.binomial(per_day, 0.2, size=(N_SIM, days, 2))
    cumulative = daily.cumsum(axis=1)
    naive_hit = np.zeros(N_SIM, dtype=bool)
    seq_hit = np.zeros(N_SIM, dtype=bool)
    seq_p_hit = np.zeros(N_SIM, dtype=bool)
    for i in range(N_SIM):
        for d in range(days):
            n = per_day * (d + 1)
            a, b = s.binary_stats(int(cumulative[i, d, 0]), n), s.binary_stats(int(cumulative[i, d, 1]), n)
            low, high, p_seq = exs.sequential_interval(a, b, alpha=ALPHA)
            seq_hit[i] |= low > 0 or high < 0
            seq_p_hit[i] |= p_seq < ALPHA
            naive_hit[i] |= s.welch_test(a, b).p_value < ALPHA
    naive_fpr, seq_fpr = float(naive_hit.mean()), float(seq_hit.mean())
    assert naive_fpr > 0.10, naive_fpr  # peeking 14 times inflates the 5% error rate
    assert seq_fpr <= FPR_BAND[1], seq_fpr
    assert np.array_equal(seq_hit, seq_p_hit)  # running-min p below alpha <=> some interval excluded 0


def test_cuped_is_unbiased_on_aa_tests_and_removes_rho_squared_of_the_variance() -> None:
    rng = np.random.default_rng(20240604)
    n, rho = 300, 0.6
    x = rng.normal(5.0, 1.0, size=(N_SIM, 2, n))
    y = 2.0 + rho * (x - 5.0) + math.sqrt(1 - rho**2) * rng.normal(0.0, 1.0, size=(N_SIM, 2, n))
    sx, sy, sxx, syy, sxy = x.sum(2), y.sum(2), (x * x).sum(2), (y * y).sum(2), (x * y).sum(2)
    results = [
        exs.cuped(
            s.SampleStats(n, sy[i, 0], syy[i, 0]), s.SampleStats(n, sx[i, 0], sxx[i, 0]), sxy[i, 0],
            s.SampleStats(n, sy[i, 1], syy[i, 1]), s.SampleStats(n, sx[i, 1], sxx[i, 1]), sxy[i, 1],
        )
        for i in range(N_SIM)
    ]
    adjusted = np.array([r.comparison.abs_diff for r in results])
    naive = (sy[:, 1] - sy[:, 0]) / n
    # unbiased: the mean estimate is within 4 standard errors of the true effect 0
    assert abs(adjusted.mean()) < 4 * adjusted.std(ddof=1) / math.sqrt(N_SIM)
    reduction = np.mean([r.variance_reduction for r in results])
    assert reduction == pytest.approx(rho**2, abs=0.02)
    assert 1 - adjusted.var(ddof=1) / naive.var(ddof=1) == pytest.approx(rho**2, abs=0.06)
    fpr = float(np.mean([r.comparison.p_value < ALPHA for r in results]))
    assert FPR_BAND[0] <= fpr <= FPR_BAND[1], fpr


def test_planned_sample_size_gives_planned_power() -> None:
    baseline, lift = 0.10, 0.20
    n = pw.sample_size_per_group(baseline, None, lift, alpha=ALPHA, power=0.8)
    rng = np.random.default_rng(20240605)
    x_a = rng.binomial(n, baseline, N_SIM)
    x_b = rng.binomial(n, baseline * (1 + lift), N_SIM)
    p = [s.two_proportion_test(int(a), n, int(b), n).p_value for a, b in zip(x_a, x_b, strict=True)]
    rejected = float(np.mean(np.array(p) < ALPHA))
    # 80% power: binomial standard error 1.3 points at 1,000 runs
    assert 0.76 <= rejected <= 0.84, rejected


def test_welch_false_positive_rate_on_normal_data_from_exact_sufficient_statistics() -> None:
    rng = np.random.default_rng(20240606)
    sums, sums_sq = _normal_group_stats(rng, 50, (N_SIM, 2))
    p = _welch_pvalues(50, sums, sums_sq)
    assert FPR_BAND[0] <= float(np.mean(p < ALPHA)) <= FPR_BAND[1]
