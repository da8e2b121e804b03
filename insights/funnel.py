"""Funnels: how many units go from step to step within a conversion window, by segment and by variant.

One public entry point, :func:`analyze_funnel`. DuckDB computes each unit's deepest step once (see
:mod:`insights.funnel_sql` for the exact semantics of the three modes) into a temporary table; every
number below is an aggregate of that table, and only the tests run in Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from insights.dataset import Dataset
from insights.engine import TempRelation
from insights.errors import InsightsError
from insights.funnel_breakdown import MISSING, OTHER, SegmentFunnel, VariantStep, segment_funnels, variant_steps
from insights.funnel_sql import (
    HIST_EDGES,
    MODES,
    Mode,
    build_dropoff_sql,
    build_funnel_sql,
    build_histogram_sql,
    build_levels_sql,
    build_steps_sql,
    build_trend_sql,
)
from insights.funnel_suggest import suggest_steps as suggest_steps  # re-exported: the Funnel page's default
from insights.metrics import event_values
from insights.sql import inline_params

DAY = 86_400.0
MAX_STEPS = 10
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}


@dataclass(frozen=True, slots=True)
class FunnelSpec:
    """What funnel to compute.

    steps
        2 to 10 event names in order (a name may repeat).
    window_seconds
        Conversion window measured from the step-1 event (inclusive); default 7 days.
    mode
        ``"sequential"`` (ClickHouse windowFunnel), ``"strict"`` or ``"any"``.
    by
        Dimension column to break the funnel down by (first-touch value), or None.
    top_n
        Segments kept by size; the rest are folded into ``"(other)"``.
    min_segment_units
        Segments with fewer entering units are shown but not tested.
    compare_variants
        Compare the funnel between variants when the data has a variant column.
    """

    steps: tuple[str, ...]
    window_seconds: float = 7 * DAY
    mode: Mode = "sequential"
    by: str | None = None
    top_n: int = 10
    min_segment_units: int = 30
    compare_variants: bool = True


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of the overall funnel; times are seconds from the previous step (NaN for step 1, any order)."""

    step: int
    event: str
    n_units: int
    conversion_from_start: float
    conversion_from_previous: float
    drop_off: int
    drop_off_rate: float
    median_seconds_from_previous: float
    p90_seconds_from_previous: float


@dataclass(frozen=True, slots=True)
class HistogramBin:
    """Units whose time from the previous step to ``step`` lies in [bin_start_seconds, bin_end_seconds)."""

    step: int
    bin_start_seconds: float
    bin_end_seconds: float
    n_units: int


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """Units entering the funnel in one period and how many of them reached each step."""

    period: Any
    n_units: tuple[int, ...]

    @property
    def conversion(self) -> float:
        """Conversion from the first to the last step for this entry cohort."""
        return self.n_units[-1] / self.n_units[0] if self.n_units[0] else math.nan


@dataclass(frozen=True, slots=True)
class FunnelResult:
    """Everything the Funnel page and the CLI show; ``sql`` reproduces the per-step units in DuckDB."""

    spec: FunnelSpec
    steps: tuple[FunnelStep, ...]
    histogram: tuple[HistogramBin, ...]
    trend: tuple[TrendPoint, ...]
    trend_grain: Literal["day", "week"]
    breakdown: tuple[SegmentFunnel, ...] = ()
    variants: tuple[VariantStep, ...] = ()
    control: str | None = None
    sql: str = field(default="", repr=False)


def parse_window(text: str | float) -> float:
    """Window in seconds from ``90m``, ``12h``, ``7d``, ``2w``, ``30s`` or a plain number of seconds."""
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise InsightsError("bad_window", f"Cannot read the window {text!r}; write it like 90m, 12h or 7d.")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def validate_spec(ds: Dataset, spec: FunnelSpec) -> None:
    """Raise one-line errors for a spec this data cannot answer."""
    ds.require("unit", "time", "event")
    if not 2 <= len(spec.steps) <= MAX_STEPS:
        raise InsightsError("bad_steps", f"A funnel needs 2 to {MAX_STEPS} steps, not {len(spec.steps)}.")
    known = set(event_values(ds))
    missing = [s for s in spec.steps if s not in known]
    if missing:
        raise InsightsError("unknown_event", f"There is no event named {missing[0]!r} in {ds.source}.")
    if spec.mode not in MODES:
        raise InsightsError("bad_mode", f"Unknown funnel mode {spec.mode!r}; use sequential, strict or any.")
    if not (spec.window_seconds > 0 and math.isfinite(spec.window_seconds)):
        raise InsightsError("bad_window", "The conversion window must be a positive duration.")
    if spec.by is not None:
        ds.dtype(spec.by)
    if spec.top_n < 1 or spec.min_segment_units < 1:
        raise InsightsError("bad_breakdown", "top_n and min_segment_units must be at least 1.")


def _rate(x: float, n: float) -> float:
    return x / n if n else math.nan


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _steps(row: Sequence[Any], events: Sequence[str]) -> tuple[FunnelStep, ...]:
    n = [int(row[0])] + [int(row[1 + 3 * (j - 1)]) for j in range(1, len(events))]
    out = []
    for j, event in enumerate(events):
        prev = n[j - 1] if j else n[0]
        med = _num(row[2 + 3 * (j - 1)]) if j else math.nan
        p90 = _num(row[3 + 3 * (j - 1)]) if j else math.nan
        out.append(FunnelStep(j + 1, event, n[j], _rate(n[j], n[0]), _rate(n[j], prev), prev - n[j],
                              _rate(prev - n[j], prev), med, p90))
    return tuple(out)


def _counts(row: Sequence[Any], n_steps: int) -> list[int]:
    return [int(row[0])] + [int(row[1 + 3 * (j - 1)]) for j in range(1, n_steps)]


def analyze_funnel(ds: Dataset, spec: FunnelSpec) -> FunnelResult:
    """Compute the funnel of ``spec`` on ``ds``: steps, times, trend, breakdown and variant comparison."""
    validate_spec(ds, spec)
    steps, n = list(spec.steps), len(spec.steps)
    with_variant = spec.compare_variants and ds.roles.variant is not None
    levels_sql, params = build_levels_sql(ds, steps, spec.window_seconds, spec.mode, segment=spec.by,
                                          variant=with_variant)
    rel = TempRelation(ds, levels_sql, params, prefix="funnel_levels")
    table = rel.name
    try:
        overall = _steps(rel.query(build_steps_sql(table, n))[0], steps)
        edges = [e for e in HIST_EDGES if e < spec.window_seconds] or [0.0]
        hist = tuple(HistogramBin(int(s), edges[b], edges[b + 1] if b + 1 < len(edges) else math.inf, int(c))
                     for s, b, c in rel.query(build_histogram_sql(table, n, spec.window_seconds)))
        span = rel.query(f"SELECT date_diff('day', min(entered_at), max(entered_at)) FROM {table}")[0]
        grain: Literal["day", "week"] = "day" if span is None or span[0] is None or span[0] <= 90 else "week"
        trend = tuple(TrendPoint(r[0], tuple(int(v) for v in r[1:]))
                      for r in rel.query(build_trend_sql(table, n, grain)))
        breakdown: tuple[SegmentFunnel, ...] = ()
        if spec.by is not None:
            top = (f"(SELECT coalesce(segment, '{MISSING}') AS s FROM {table} GROUP BY 1 "
                   f"ORDER BY count(*) DESC, 1 LIMIT {int(spec.top_n)})")
            folded = (f"(SELECT l.*, coalesce(top.s, '{OTHER}') AS grp_value FROM {table} AS l LEFT JOIN {top} "
                      f"AS top ON coalesce(l.segment, '{MISSING}') = top.s)")
            rows = rel.query(build_steps_sql(folded, n, "grp_value"))
            rows.sort(key=lambda r: (r[0] == OTHER, -int(r[1]), str(r[0])))
            breakdown = segment_funnels([(str(r[0]), _counts(r[1:], n)) for r in rows], steps,
                                        spec.min_segment_units)
        variants: tuple[VariantStep, ...] = ()
        control = None
        if with_variant:
            rows = rel.query(build_steps_sql(f"(SELECT * FROM {table} WHERE variant IS NOT NULL)", n, "variant"))
            if len(rows) >= 2:
                control, variants = variant_steps([(str(r[0]), _counts(r[1:], n)) for r in rows], steps)
    finally:
        rel.close()
    sql, sql_params = build_funnel_sql(ds, steps, spec.window_seconds, spec.mode)
    return FunnelResult(spec, overall, hist, trend, grain, breakdown, variants, control,
                        inline_params(sql, sql_params))


def unit_levels(ds: Dataset, spec: FunnelSpec) -> pd.DataFrame:
    """One row per unit that did step 1: ``unit``, ``level``, ``entered_at`` and the step-to-step times."""
    validate_spec(ds, spec)
    sql, params = build_levels_sql(ds, list(spec.steps), spec.window_seconds, spec.mode)
    return ds.query_df(sql, params)


def dropoff_cohort(ds: Dataset, spec: FunnelSpec, step: int) -> pd.DataFrame:
    """Units that reached step ``step`` (1-based) but not step ``step + 1``: unit, entered_at, last_step."""
    validate_spec(ds, spec)
    if not 1 <= step < len(spec.steps):
        raise InsightsError("bad_step", f"Choose a step between 1 and {len(spec.steps) - 1} for a drop-off cohort.")
    sql, params = build_dropoff_sql(ds, list(spec.steps), spec.window_seconds, spec.mode, step)
    return ds.query_df(sql, params)
