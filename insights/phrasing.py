"""Template statements: one deterministic sentence per finding, with its exact numbers formatted for people.

Rates (binary metrics and shares) are percentages with two decimals, differences of rates are percentage
points, other means keep three significant digits, counts get thousands separators, p-values are shown as
``p < 0.001`` or with two significant digits. The same finding always gives the same sentence.
"""

from __future__ import annotations

import math

from insights.findings import Finding

BINARY_TESTS = ("two-proportion z-test",)


def unit_noun(unit_column: str | None) -> str:
    """``users`` for a user id column, ``accounts``, ``sessions``, ... else ``units``."""
    name = (unit_column or "").lower()
    for word in ("user", "account", "session", "player", "customer", "visitor", "lead", "device"):
        if word in name:
            return word + "s"
    return "units"


def fmt_p(p: float) -> str:
    if math.isnan(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def fmt_count(n: int | float) -> str:
    return f"{int(n):,}"


def fmt_value(x: float, rate: bool) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.2%}" if rate else f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def fmt_diff(x: float, rate: bool) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x * 100:+.2f} points" if rate else f"{x:+,.3g}"


def fmt_rel(x: float) -> str:
    return "" if math.isnan(x) else f", {x:+.1%}"


def is_rate(f: Finding) -> bool:
    """Whether the finding's means are proportions (shown as percentages). A distribution finding compares
    values (e.g. revenue), even though its chart shows shares of units."""
    if f.kind == "distribution":
        return False
    return f.test in BINARY_TESTS or f.kind in ("data_quality", "experiment_health", "funnel_step") \
        or bool(f.chart and f.chart.percent)


def _tail(f: Finding, units: str) -> str:
    parts = [f"{fmt_count(f.n_units)} {units}"]
    if f.is_test:
        adjusted = not math.isnan(f.p_value_adjusted)
        parts.append(f"adjusted {fmt_p(f.p_value_adjusted)}" if adjusted else fmt_p(f.p_value))
    return "; ".join(parts)


def statement(f: Finding, units: str = "units") -> str:
    """The template sentence for ``f`` (``units`` is the plural noun for the unit: users, accounts...)."""
    rate = is_rate(f)
    verb = "higher" if f.direction == "higher" else "lower"
    if f.kind == "segment":
        return (f"{units.capitalize()} with {f.dimension} = {f.value} have {verb} {f.metric_label}: "
                f"{fmt_value(f.subject_mean, rate)} against {fmt_value(f.baseline_mean, rate)} for the rest "
                f"({fmt_diff(f.effect, rate)}{fmt_rel(f.rel_effect)}; {_tail(f, units)}).")
    if f.kind == "distribution":
        shift = f.detail("mean_shift")
        return (f"{units.capitalize()} with {f.dimension} = {f.value} have a {verb} distribution of {f.metric_label}: "
                f"median {fmt_value(f.subject_mean, False)} against {fmt_value(f.baseline_mean, False)} for the rest, "
                f"mean {fmt_diff(shift, False)}, {f.detail('prob_greater'):.1%} chance that one of them exceeds "
                f"one of the rest ({_tail(f, units)}).")
    if f.kind == "launch_change":
        moved = "rose" if f.direction == "higher" else "fell"
        return (f"After {f.subject}, {f.metric_label} {moved} from {fmt_value(f.baseline_mean, rate)} to "
                f"{fmt_value(f.subject_mean, rate)} ({fmt_diff(f.effect, rate)}{fmt_rel(f.rel_effect)}; "
                f"{_tail(f, units)}). {f.caveat}")
    if f.kind in ("data_quality", "experiment_health") and not f.is_test:
        return (f"{fmt_count(f.n_units)} {f.metric_label} ({f.subject_mean:.2%} of {fmt_count(f.n_baseline)}) are "
                f"{f.subject}; numbers that include them are off. {f.caveat}".strip())
    if f.kind == "experiment_health":
        return f"{f.caveat} ({fmt_count(f.n_units)} {units}; {_tail(f, units).split('; ', 1)[-1]})."
    if f.kind == "funnel_step":
        where = f" for {f.dimension} = {f.value}" if f.dimension else ""
        return (f"The step {f.subject}{where} converts {fmt_value(f.subject_mean, True)} against "
                f"{fmt_value(f.baseline_mean, True)} for the rest ({fmt_diff(f.effect, True)}"
                f"{fmt_rel(f.rel_effect)}; {_tail(f, units)}).")
    if f.kind == "experiment_effect":
        where = f" among {units} with {f.dimension} = {f.value}" if f.dimension else ""
        return (f"{f.subject}{where} moves {f.metric_label} from {fmt_value(f.baseline_mean, rate)} to "
                f"{fmt_value(f.subject_mean, rate)} ({fmt_diff(f.effect, rate)}{fmt_rel(f.rel_effect)}, 95% CI "
                f"{fmt_diff(f.ci_low, rate)} to {fmt_diff(f.ci_high, rate)}; {_tail(f, units)}). {f.caveat}".strip())
    return (f"{f.subject or f.kind.replace('_', ' ')}: {f.metric_label} {fmt_value(f.subject_mean, rate)} against "
            f"{fmt_value(f.baseline_mean, rate)} ({_tail(f, units)}). {f.caveat}".strip())
