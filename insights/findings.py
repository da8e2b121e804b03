"""Typed findings: what the core found, with the numbers, the SQL that reproduces them and a chart.

A :class:`Finding` is frozen; the ranking stage fills in the adjusted p-value, score, rank explanation and
statement with :func:`dataclasses.replace`. Numbers are raw floats (proportions in 0-1); formatting is
the phraser's and the UI's job. The SQL returns one row whose column names are the names of fields of the
finding (``n_units``, ``subject_mean``, ``baseline_mean``, ``effect`` ...), so a test can run it and compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

FindingKind = Literal[
    "segment", "distribution", "funnel_step", "experiment_effect", "experiment_health", "launch_change",
    "data_quality",
]
FINDING_KINDS: tuple[FindingKind, ...] = (
    "segment", "distribution", "funnel_step", "experiment_effect", "experiment_health", "launch_change",
    "data_quality",
)
Direction = Literal["higher", "lower"]
ChartKind = Literal["bars", "histogram", "series"]
NAN = math.nan


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One mark of a chart.

    x
        Category or bin label (a segment, a bin, a date as ISO text).
    y
        The value (a rate, a mean, a share of units).
    low, high
        Interval around ``y`` (NaN when there is none).
    group
        Series the row belongs to (``segment`` / ``rest``, ``before`` / ``after``); ``highlight`` marks the
        subject of the finding.
    """

    x: str
    y: float
    low: float = NAN
    high: float = NAN
    group: str = ""


@dataclass(frozen=True, slots=True)
class ChartData:
    """A small chart record the UI turns into Vega-Lite (see :func:`insights.charts.vega_lite`).

    kind
        ``bars`` (one bar per category with its interval), ``histogram`` (shares per bin, one series per
        group) or ``series`` (a value per date, with ``marker`` as a vertical rule).
    """

    kind: ChartKind
    title: str
    y_title: str
    rows: tuple[ChartRow, ...]
    x_title: str = ""
    marker: str | None = None
    percent: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """One candidate insight.

    kind
        What was found (see ``FINDING_KINDS``).
    metric
        Metric spec as the user writes it (``purchase``, ``mean:revenue``).
    metric_label
        Words for statements (``purchase conversion``).
    dimension, value
        The segment (column and value) for segment-like kinds, else None.
    direction
        ``higher`` or ``lower``: the subject against its baseline.
    subject_mean, baseline_mean
        Metric of the subject (segment, after launch, treatment, step) and of its baseline (rest of units,
        before launch, control, overall).
    effect
        ``subject_mean - baseline_mean`` (or the kind's natural effect, e.g. a share of bad rows).
    rel_effect
        ``effect / |baseline_mean|`` (NaN when undefined).
    ci_low, ci_high
        Confidence interval of ``effect`` at 95%.
    p_value, p_value_adjusted
        Raw two-sided p-value and its Benjamini-Hochberg adjustment over every test run (NaN for checks
        that are not tests, such as counts of duplicate rows).
    n_units
        Units in the subject (the units the finding is about).
    n_baseline
        Units in the baseline.
    test
        Name of the test that produced ``p_value``.
    sql
        DuckDB SQL (parameters inlined) whose single row reproduces the numbers.
    chart
        Chart record.
    key
        Stable identifier, unique within one run.
    details
        Extra named numbers shown as key numbers (e.g. ``("median_shift", 4.2)``).
    caveat
        A sentence the statement must carry (launch changes are not experiments).
    subject
        Words naming what the finding is about when it is not a segment (a launch, a funnel step, a variant).
    terms
        Names this finding touches (event, column and value names), matched against initiative docs.
    impact
        Units affected times the absolute relative effect on the metric (filled by ranking).
    relevance
        0-1 match to the past-initiative docs (filled by ranking).
    score
        Ranking score (filled by ranking).
    rank_reason
        Why it ranked where it did (filled by ranking).
    statement
        Template sentence (filled by phrasing).
    """

    kind: FindingKind
    metric: str
    metric_label: str
    dimension: str | None
    value: str | None
    direction: Direction
    subject_mean: float
    baseline_mean: float
    effect: float
    rel_effect: float
    ci_low: float
    ci_high: float
    p_value: float
    n_units: int
    n_baseline: int
    test: str
    sql: str
    chart: ChartData | None
    key: str
    details: tuple[tuple[str, float], ...] = ()
    caveat: str = ""
    subject: str = ""
    terms: tuple[str, ...] = ()
    p_value_adjusted: float = NAN
    impact: float = 0.0
    relevance: float = 0.0
    score: float = 0.0
    rank_reason: str = ""
    statement: str = ""

    @property
    def is_test(self) -> bool:
        """True when the finding comes from a statistical test (it has a p-value)."""
        return not math.isnan(self.p_value)

    def detail(self, name: str, default: float = NAN) -> float:
        """A named extra number."""
        return dict(self.details).get(name, default)


def direction_of(effect: float) -> Direction:
    return "lower" if effect < 0 else "higher"


def relative(effect: float, baseline: float) -> float:
    """``effect / |baseline|``; NaN when the baseline is 0 or undefined."""
    if baseline == 0 or math.isnan(baseline) or math.isnan(effect):
        return NAN
    return effect / abs(baseline)
