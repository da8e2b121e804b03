"""Planning an experiment: sample size per group, minimum detectable effect, power.

Continuous metrics use statsmodels ``TTestIndPower`` (two-sample t-test, equal groups) with
Cohen's d = effect / std. Binary metrics (``baseline_std=None``) use ``NormalIndPower`` with
Cohen's h (arcsine effect size, ``proportion_effectsize``). All tests are two-sided.

These functions take planning settings, not data: settings that make no sense (alpha outside
(0, 1), a non-positive standard deviation, a zero baseline for a relative effect, a rate
outside (0, 1)) raise ``ValueError`` with a readable message.
"""

from __future__ import annotations

import math

from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize


def _check_probability(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def _check_baseline(baseline_mean: float, baseline_std: float | None) -> None:
    if baseline_std is None:
        _check_probability("baseline conversion rate", baseline_mean)
    else:
        if not baseline_std > 0:
            raise ValueError(f"baseline standard deviation must be positive, got {baseline_std!r}")
        if baseline_mean == 0:
            raise ValueError("a relative effect needs a non-zero baseline mean")


def sample_size_per_group(
    baseline_mean: float,
    baseline_std: float | None,
    mde_relative: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Units needed in each of two equal groups to detect a relative change of ``mde_relative``.

    ``baseline_std=None`` means a binary metric with conversion rate ``baseline_mean``.
    Cohen (1988): d = 0.5 at alpha 0.05 and power 0.8 needs 64 per group.
    """
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    _check_baseline(baseline_mean, baseline_std)
    if mde_relative == 0 or not math.isfinite(mde_relative):
        raise ValueError(f"the minimum detectable effect must be non-zero, got {mde_relative!r}")
    target = baseline_mean * (1 + mde_relative)
    if baseline_std is None:
        _check_probability("target conversion rate", target)
        h = abs(float(proportion_effectsize(target, baseline_mean)))
        n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0)
    else:
        d = abs(target - baseline_mean) / baseline_std
        n = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0)
    return max(2, math.ceil(float(n) - 1e-9))


def mde(
    n_per_group: int,
    baseline_mean: float,
    baseline_std: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest relative increase detectable with ``n_per_group`` units in each group.

    For a binary metric this is the upward change of the rate (the arcsine scale is not
    symmetric); NaN if even a rate of 1 would not be detectable.
    """
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    _check_baseline(baseline_mean, baseline_std)
    if n_per_group < 2:
        raise ValueError(f"need at least 2 units per group, got {n_per_group!r}")
    if baseline_std is None:
        h = float(NormalIndPower().solve_power(nobs1=n_per_group, alpha=alpha, power=power, ratio=1.0))
        angle = math.asin(math.sqrt(baseline_mean)) + h / 2
        if angle >= math.pi / 2:
            return math.nan
        return math.sin(angle) ** 2 / baseline_mean - 1
    d = float(TTestIndPower().solve_power(nobs1=n_per_group, alpha=alpha, power=power, ratio=1.0))
    return d * baseline_std / abs(baseline_mean)


def power(n_per_group: int, effect: float, std: float, alpha: float = 0.05) -> float:
    """Power of a two-sided two-sample t-test to detect an absolute ``effect`` (per-unit ``std``).

    For a conversion rate p, ``std = sqrt(p * (1 - p))`` gives the usual normal approximation.
    """
    _check_probability("alpha", alpha)
    if n_per_group < 2:
        raise ValueError(f"need at least 2 units per group, got {n_per_group!r}")
    if not std > 0:
        raise ValueError(f"standard deviation must be positive, got {std!r}")
    return float(
        TTestIndPower().power(effect_size=abs(effect) / std, nobs1=n_per_group, alpha=alpha, ratio=1.0)
    )
