"""Funnel breakdowns: segments against the rest of the population, and variants against control.

Both compare the conversion from the first step to step k (k >= 2): for a segment, its units against all
other units that entered the funnel; for a variant, its units against the control's. The tests are
:func:`insights.stats.two_proportion_test` (pooled z-test, Newcombe interval), and the p-values are
Benjamini-Hochberg adjusted across every tested segment x step (or variant x step) of one funnel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from insights.stats import adjust_pvalues, two_proportion_test

OTHER = "(other)"
MISSING = "(missing)"


@dataclass(frozen=True, slots=True)
class SegmentStep:
    """One step of one segment's funnel.

    step
        1-based step number. event
        The step's event name.
    n_units
        Units of the segment that reached the step.
    conversion_from_start, conversion_from_previous
        ``n_units`` over the segment's units at step 1 / at the previous step.
    rest_conversion_from_start
        The same rate for all other units that entered the funnel.
    abs_diff, ci_low, ci_high
        Segment minus rest, with the Newcombe 95% interval.
    p_value, p_value_adjusted
        Two-sided two-proportion test of segment vs rest; BH-adjusted across all segments x steps.
        NaN for step 1 and for untested segments.
    """

    step: int
    event: str
    n_units: int
    conversion_from_start: float
    conversion_from_previous: float
    rest_conversion_from_start: float
    abs_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_value_adjusted: float


@dataclass(frozen=True, slots=True)
class SegmentFunnel:
    """The funnel of one segment (first-touch value of the breakdown column).

    segment
        The value, ``"(other)"`` for the folded remainder, ``"(missing)"`` for NULL.
    n_units
        Units of the segment that entered the funnel (did step 1).
    tested
        False when no test was run; ``reason`` then says why.
    """

    segment: str
    n_units: int
    steps: tuple[SegmentStep, ...]
    tested: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class VariantStep:
    """Conversion from the first step to ``step`` in one variant against control.

    control_rate, variant_rate
        Conversion from start in each group. abs_diff
        ``variant_rate - control_rate`` with its Newcombe 95% interval ``ci_low`` .. ``ci_high``.
    p_value, p_value_adjusted
        Two-sided two-proportion test; BH-adjusted across all variants x steps.
    error
        Error code from the test when a number is undefined (e.g. ``no_conversions``).
    """

    step: int
    event: str
    variant: str
    control: str
    n_control: int
    n_variant: int
    x_control: int
    x_variant: int
    control_rate: float
    variant_rate: float
    abs_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_value_adjusted: float
    error: str | None


def _rate(x: int, n: int) -> float:
    return x / n if n > 0 else math.nan


def segment_funnels(
    rows: Sequence[tuple[str, list[int]]], events: Sequence[str], min_units: int,
) -> tuple[SegmentFunnel, ...]:
    """Test each segment's conversion to every step against the rest; ``rows`` are (segment, counts per step)."""
    totals = [sum(c[j] for _, c in rows) for j in range(len(events))]
    tests: list[tuple[int, int, object]] = []
    for i, (seg, counts) in enumerate(rows):
        testable = seg != OTHER and counts[0] >= min_units and totals[0] - counts[0] >= min_units
        for j in range(1, len(events)):
            if testable:
                tests.append((i, j, two_proportion_test(totals[j] - counts[j], totals[0] - counts[0],
                                                        counts[j], counts[0])))
    adjusted = adjust_pvalues([t[2].p_value for t in tests])  # type: ignore[attr-defined]
    by_key = {(i, j): (c, a) for (i, j, c), a in zip(tests, adjusted, strict=True)}
    out = []
    for i, (seg, counts) in enumerate(rows):
        steps = []
        for j, event in enumerate(events):
            comp, adj = by_key.get((i, j), (None, math.nan))
            rest = _rate(totals[j] - counts[j], totals[0] - counts[0])
            steps.append(SegmentStep(
                j + 1, event, counts[j], _rate(counts[j], counts[0]),
                _rate(counts[j], counts[j - 1]) if j else 1.0 if counts[0] else math.nan, rest,
                _rate(counts[j], counts[0]) - rest,
                comp.abs_ci_low if comp else math.nan, comp.abs_ci_high if comp else math.nan,  # type: ignore[attr-defined]
                comp.p_value if comp else math.nan, adj))  # type: ignore[attr-defined]
        tested = any(k[0] == i for k in by_key)
        reason = None
        if not tested:
            if seg == OTHER:
                reason = "folded remainder of smaller segments, not one segment"
            elif counts[0] < min_units:
                reason = f"fewer than {min_units} units entered the funnel"
            else:
                reason = f"fewer than {min_units} units entered the funnel outside this segment"
        out.append(SegmentFunnel(seg, counts[0], tuple(steps), tested, reason))
    return tuple(out)


def pick_control(variants: Sequence[str]) -> str:
    """The control variant: one named like control/baseline/a, else the first in sort order."""
    for name in sorted(variants):
        if name.strip().lower() in ("control", "ctrl", "baseline", "a", "0", "off", "false"):
            return name
    return sorted(variants)[0]


def variant_steps(rows: Sequence[tuple[str, list[int]]], events: Sequence[str]) -> tuple[str, tuple[VariantStep, ...]]:
    """Compare each variant's conversion from start with the control's at every step after the first."""
    counts = dict(rows)
    control = pick_control(list(counts))
    raw = []
    for name in sorted(counts):
        if name == control:
            continue
        for j in range(1, len(events)):
            c, v = counts[control], counts[name]
            raw.append((name, j, c, v, two_proportion_test(c[j], c[0], v[j], v[0])))
    adjusted = adjust_pvalues([r[4].p_value for r in raw])
    out = tuple(VariantStep(j + 1, events[j], name, control, c[0], v[0], c[j], v[j], comp.control_mean,
                            comp.variant_mean, comp.abs_diff, comp.abs_ci_low, comp.abs_ci_high, comp.p_value,
                            adj, comp.error)
                for (name, j, c, v, comp), adj in zip(raw, adjusted, strict=True))
    return control, out
