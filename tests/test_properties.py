"""Property tests: random small tables through every analysis.

Whatever the table, only an :class:`InsightsError` with a one-line message may escape an entry point, and
the results keep their invariants: funnel counts never increase along the steps, rates and p-values lie in
[0, 1], adjusted p-values are at least the raw ones, intervals hold their estimate, the top list is at most
``top_k`` long and best first. Degenerate data (no rows, one unit, one variant, zero conversions, zero
variance, NULL variants and segments) returns results with error codes, not exceptions (DESIGN.md).
Each example writes its table to its own temporary folder as Parquet or CSV and loads it with the real
loader.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from insights import (
    AskResult,
    ExperimentSpec,
    FunnelSpec,
    InsightsError,
    analyze_experiment,
    analyze_funnel,
    ask,
    dropoff_cohort,
    find_insights,
    load_file,
    profile,
    run_user_sql,
    segment_tests,
    suggest_steps,
)
from insights.cli import main as cli_main
from insights.dataset import Dataset
from insights.safesql import UnsafeSQLError
from insights.segments import ScanSettings

T = TypeVar("T")
TOL = 1e-9
EXAMPLES = int(os.environ.get("INSIGHTS_PROPERTY_EXAMPLES", "40"))  # raise it to hunt for bugs
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, phases=[p for p in Phase if p is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

EVENTS = ("view", "cart", "purchase", "a'b", "sel;ect", "🎉 party", 'q"t')
VARIANTS = ("control", "treatment", "b'c")
COUNTRIES = ("US", "DE", "a'b", "🇫🇷", None)
DIMENSION_NAMES = ("country", 'co"un try', "sel;ect", "ünï 🎉")
BASE = dt.datetime(2024, 3, 1)
# Few distinct offsets so that timestamps tie often; the last ones are far apart (days, months).
OFFSETS = (0, 0, 1, 60, 3600, 86_400, 3 * 86_400, 40 * 86_400, 200 * 86_400)
WINDOWS = (0.0, 1.0, 1.0, 60.0, 3600.0, 3600.0, 7 * 86_400.0, 7 * 86_400.0, 1e9, 1e15)


# ---------------------------------------------------------------- helpers


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call ``fn``; an InsightsError must carry one non-empty line (then None), anything else fails."""
    try:
        return fn(*args, **kwargs)
    except InsightsError as exc:
        one_line(str(exc))
        assert exc.code, exc
        note_event(f"{getattr(fn, '__name__', 'call')}: {exc.code}")
        return None


def note_event(text: str) -> None:
    """Count what happened for ``--hypothesis-show-statistics`` (no-op outside a hypothesis test)."""
    try:
        event(text)
    except InvalidArgument:
        pass


def one_line(text: str) -> None:
    assert text.strip(), "empty error message"
    assert "\n" not in text.strip(), f"message spans lines: {text!r}"
    assert "Traceback" not in text


def is_prob(p: float) -> bool:
    return math.isnan(p) or -TOL <= p <= 1 + TOL


def check_p(raw: float, adjusted: float) -> None:
    assert is_prob(raw), raw
    assert is_prob(adjusted), adjusted
    if not math.isnan(raw):
        assert not math.isnan(adjusted), (raw, adjusted)
        assert adjusted >= raw - TOL, (raw, adjusted)


def check_interval(low: float, estimate: float, high: float) -> None:
    if all(math.isfinite(v) for v in (low, estimate, high)):
        assert low - TOL * (1 + abs(low)) <= estimate <= high + TOL * (1 + abs(high)), (low, estimate, high)


def non_increasing(counts: Iterable[int]) -> bool:
    c = list(counts)
    return all(a >= b for a, b in zip(c, c[1:], strict=False))


def present_event(frame: pd.DataFrame, name: str) -> str:
    """``name`` mapped onto an event the log has (a name the log lacks stays, so unknown steps get tested)."""
    present = list(dict.fromkeys(frame["event"].dropna())) if len(frame) else []
    if name == "no_such_event" or not present or name in present:
        return name
    return present[EVENTS.index(name) % len(present)]


def load(frame: pd.DataFrame, fmt: str, folder: str, **roles: Any) -> Dataset | None:
    """Write ``frame`` and load it with the real loader (None when the loader refuses it in one line)."""
    path = Path(folder) / f"data.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    ds = attempt(load_file, path)
    if ds is None or not roles:
        return ds
    return attempt(ds.with_roles, **{k: v for k, v in roles.items() if v is None or v in ds.column_names})


# ---------------------------------------------------------------- strategies


@st.composite
def event_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, str, bool]:
    """A random event log, its file format, and whether to state the roles (else the loader infers them).

    Times are timestamps, epoch seconds or ISO text; some logs have NULL units, events or times; the
    dimension column may have a hostile name."""
    n = draw(st.integers(0, 60))
    n_units = draw(st.integers(1, 8))
    alphabet = draw(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=4, unique=True))
    rows = draw(st.lists(st.tuples(st.integers(0, n_units - 1), st.sampled_from(alphabet), st.sampled_from(OFFSETS),
                                   st.integers(0, 5)), min_size=n, max_size=n))
    times = [BASE + dt.timedelta(seconds=o + jitter) for _, _, o, jitter in rows]
    encoding = draw(st.sampled_from(["timestamp", "timestamp", "epoch_s", "text"]))
    frame: dict[str, list[Any]] = {
        "user_id": [f"u{u}" for u, _, _, _ in rows],
        "event_time": (times if encoding == "timestamp" else
                       [int(t.replace(tzinfo=dt.UTC).timestamp()) for t in times] if encoding == "epoch_s" else
                       [t.isoformat(sep=" ") for t in times]),
        "event": [e for _, e, _, _ in rows],
    }
    if n and draw(st.booleans()):  # dirty rows: NULL unit, event or time
        for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
            frame[draw(st.sampled_from(["user_id", "event", "event_time"]))][i] = None
    if draw(st.booleans()):
        frame[draw(st.sampled_from(DIMENSION_NAMES))] = draw(st.lists(st.sampled_from(COUNTRIES), min_size=n,
                                                                       max_size=n))
    k = draw(st.sampled_from([0, 1, 2, 2, 3]))
    if k:
        choices: list[str | None] = list(VARIANTS[:k]) + ([None] if draw(st.booleans()) else [])
        by_unit = {u: draw(st.sampled_from(choices)) for u in range(n_units)}
        frame["variant"] = [by_unit[u] for u, _, _, _ in rows]
    if draw(st.booleans()):
        amounts = st.one_of(st.none(), st.floats(-50, 500, allow_nan=False), st.just(0.0))
        frame["revenue"] = draw(st.lists(amounts, min_size=n, max_size=n))
    df = pd.DataFrame(frame)
    if n == 0 and encoding == "timestamp":
        df["event_time"] = pd.to_datetime(df["event_time"])
    return df, draw(st.sampled_from(["parquet", "csv"])), draw(st.booleans())


def dimension_of(frame: pd.DataFrame) -> str | None:
    return next((c for c in frame.columns if c in DIMENSION_NAMES), None)


@st.composite
def unit_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    """One row per unit: flags (0/1, booleans, yes/no, with NULLs), continuous metrics (constant, negative,
    NULL), a variant and dimensions.

    Up to 120 rows, so that segment-vs-rest tests (30 units on each side by default) sometimes run."""
    n = draw(st.integers(0, 120))
    frame: dict[str, list[Any]] = {"user_id": [f"u{i}" for i in range(n)]}
    k = draw(st.sampled_from([0, 1, 2, 2, 3]))
    if k:
        choices: list[str | None] = list(VARIANTS[:k]) + ([None] if draw(st.booleans()) else [])
        frame["variant"] = draw(st.lists(st.sampled_from(choices), min_size=n, max_size=n))
    values = draw(st.sampled_from([(0, 1), (False, True), ("no", "yes"), (0, 1, None)]))
    flag = st.sampled_from(values) if draw(st.booleans()) else st.just(draw(st.sampled_from(values)))
    frame["converted"] = draw(st.lists(flag, min_size=n, max_size=n))
    spend = (st.one_of(st.floats(-100, 100, allow_nan=False), st.none()) if draw(st.booleans()) else
             st.just(draw(st.sampled_from([0.0, -3.5]))))
    frame["spend"] = draw(st.lists(spend, min_size=n, max_size=n))
    frame["country"] = draw(st.lists(st.sampled_from(COUNTRIES), min_size=n, max_size=n))
    frame["plan"] = draw(st.lists(st.sampled_from(["free", "pro"]), min_size=n, max_size=n))
    return pd.DataFrame(frame), draw(st.sampled_from(["parquet", "csv"]))


EVENT_ROLES = {"unit": "user_id", "time": "event_time", "event": "event"}


def load_log(data: tuple[pd.DataFrame, str, bool], folder: str) -> Dataset | None:
    frame, fmt, state_roles = data
    if not state_roles:
        return load(frame, fmt, folder)
    variant = "variant" if "variant" in frame else None
    dims = (dimension_of(frame),) if dimension_of(frame) else ()
    metrics = ("revenue",) if "revenue" in frame else ()
    return load(frame, fmt, folder, **EVENT_ROLES, variant=variant, dimensions=dims, metrics=metrics)


# ---------------------------------------------------------------- invariants per result


def check_profile(ds: Dataset) -> Any:
    prof = attempt(profile, ds)
    if prof is None:
        return None
    assert prof.n_rows >= 0
    if prof.n_units is not None:
        assert 0 <= prof.n_units <= prof.n_rows
    for col in prof.columns:
        assert 0 <= col.null_rate <= 1, col
        assert 0 <= col.n_distinct <= prof.n_rows
    for w in prof.warnings:
        one_line(w.message)
    return prof


def check_funnel(ds: Dataset, spec: FunnelSpec) -> Any:
    res = attempt(analyze_funnel, ds, spec)
    if res is None:
        return None
    counts = [s.n_units for s in res.steps]
    assert len(counts) == len(spec.steps)
    assert non_increasing(counts), counts
    for s in res.steps:
        for rate in (s.conversion_from_start, s.conversion_from_previous, s.drop_off_rate):
            assert is_prob(rate), s
        assert s.drop_off >= 0
    assert all(b.n_units >= 0 for b in res.histogram)
    assert sum(b.n_units for b in res.histogram if b.step == 2) <= counts[1]
    for point in res.trend:
        assert non_increasing(point.n_units), point
    assert sum(p.n_units[0] for p in res.trend) == counts[0]
    if spec.by is not None:
        assert sum(seg.n_units for seg in res.breakdown) == counts[0]
        for seg in res.breakdown:
            assert non_increasing([s.n_units for s in seg.steps]), seg
            for s in seg.steps:
                assert is_prob(s.conversion_from_start) and is_prob(s.conversion_from_previous), s
                assert is_prob(s.rest_conversion_from_start), s
                check_p(s.p_value, s.p_value_adjusted)
                check_interval(s.ci_low, s.abs_diff, s.ci_high)
            if not seg.tested:
                assert seg.reason, seg
    for v in res.variants:
        assert 0 <= v.x_control <= v.n_control and 0 <= v.x_variant <= v.n_variant, v
        assert is_prob(v.control_rate) and is_prob(v.variant_rate), v
        check_p(v.p_value, v.p_value_adjusted)
        check_interval(v.ci_low, v.abs_diff, v.ci_high)
    return res


def check_comparison(c: Any) -> None:
    if c.binary:
        assert is_prob(c.control_mean) and is_prob(c.variant_mean), c
    check_p(c.p_value, c.p_value_adjusted)
    check_interval(c.abs_ci_low, c.abs_diff, c.abs_ci_high)
    check_interval(c.rel_ci_low, c.rel_lift, c.rel_ci_high)
    check_interval(c.seq_ci_low, c.abs_diff, c.seq_ci_high)
    assert is_prob(c.chance_to_win) and is_prob(c.seq_p_value), c
    assert c.n_control >= 0 and c.n_variant >= 0
    if c.error is not None:
        one_line(c.message or "")


def check_experiment(ds: Dataset, spec: ExperimentSpec) -> Any:
    res = attempt(analyze_experiment, ds, spec)
    if res is None:
        return None
    srm = res.health.srm
    assert is_prob(srm.p_value), srm
    assert sum(srm.counts.values()) == res.health.n_units, (srm.counts, res.health)
    note_event(f"analyze_experiment: {res.error or 'compared'}")
    if res.error is not None:
        one_line(res.message or "")
        assert not res.comparisons
    else:
        assert len(res.variants) >= 2
        assert len(res.comparisons) == len(spec.metrics + spec.guardrails) * (len(res.variants) - 1)
    for m in res.metrics:
        if m.binary and m.n_control:
            assert is_prob(m.control_mean), m
    for c in res.comparisons:
        check_comparison(c)
    for s in res.segments:
        check_comparison(s.comparison)
    for point in res.cumulative:
        assert is_prob(point.p_value), point
        check_interval(point.ci_low, point.abs_diff, point.ci_high)
    for w in res.health.warnings:
        one_line(w.message)
    return res


def check_findings(findings: Iterable[Any]) -> None:
    keys = []
    for f in findings:
        keys.append(f.key)
        check_p(f.p_value, f.p_value_adjusted) if not math.isnan(f.p_value) else None
        assert is_prob(f.p_value_adjusted), f
        check_interval(f.ci_low, f.effect, f.ci_high)
        assert f.n_units >= 0 and f.n_baseline >= 0, f
        assert f.statement, f
    assert len(keys) == len(set(keys)), keys


def check_insights(ds: Dataset, metric: str | None, top_k: int, min_units: int = 30) -> None:
    res = attempt(find_insights, ds, metric, top_k=top_k, scan=ScanSettings(min_units=min_units))
    if res is None:
        return
    note_event(f"find_insights: {'some' if res.insights else 'no'} insights, {'some' if res.tests_run else 'no'} tests")
    assert len(res.insights) <= top_k
    assert res.n_eligible <= len(res.all_findings)
    assert [f.key for f in res.insights] == [f.key for f in res.all_findings[: len(res.insights)]]
    scores = [f.score for f in res.insights]
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False)), scores
    check_findings(res.all_findings)
    for f in res.insights:
        if not math.isnan(f.p_value):
            assert f.p_value_adjusted <= res.fdr + TOL, f


def check_segments(ds: Dataset, metric: str | None) -> None:
    out = attempt(segment_tests, ds, metric)
    if out is None:
        return
    _, findings = out
    note_event(f"segment_tests: {'some' if findings else 'no'} tests")
    check_findings(findings)
    ps = [f.p_value for f in findings]
    assert ps == sorted(ps)


# ---------------------------------------------------------------- event logs


@SETTINGS
@given(data=event_logs())
def test_profile_counts_and_null_rates_hold_on_random_event_logs(data):
    frame = data[0]
    with tempfile.TemporaryDirectory() as folder:
        ds = load_log(data, folder)
        if ds is None:
            return
        prof = check_profile(ds)
        if prof is not None:
            assert prof.n_rows == len(frame)
            if ds.roles.unit == "user_id":
                assert prof.n_units == frame["user_id"].nunique()


funnel_specs = st.tuples(
    st.lists(st.sampled_from(EVENTS), min_size=2, max_size=4),
    st.sampled_from(WINDOWS),
    st.sampled_from(["sequential", "strict", "any"]),
    st.booleans(),
    st.integers(1, 3),
    st.integers(1, 5),
)


@SETTINGS
@given(data=event_logs(), spec=funnel_specs)
def test_funnel_counts_never_increase_and_rates_are_probabilities(data, spec):
    steps, window, mode, by, top_n, min_units = spec
    frame = data[0]
    steps = [present_event(frame, s) for s in steps]
    with tempfile.TemporaryDirectory() as folder:
        ds = load_log(data, folder)
        if ds is None:
            return
        funnel = FunnelSpec(tuple(steps), window_seconds=window, mode=mode,  # type: ignore[arg-type]
                            by=dimension_of(frame) if by else None, top_n=top_n, min_segment_units=min_units)
        res = {m: check_funnel(ds, FunnelSpec(funnel.steps, funnel.window_seconds, m, funnel.by, top_n, min_units))
               for m in ("sequential", "strict", "any")}
        if all(r is not None for r in res.values()):
            # Every strict chain is a sequential chain, and a sequential chain fits in one any-order window.
            for a, b in (("strict", "sequential"), ("sequential", "any")):
                lo, hi = [s.n_units for s in res[a].steps], [s.n_units for s in res[b].steps]
                assert all(x <= y for x, y in zip(lo, hi, strict=True)), (a, lo, b, hi)
            wider = check_funnel(ds, FunnelSpec(funnel.steps, funnel.window_seconds * 10 + 1, mode))
            assert wider is not None
            narrow = [s.n_units for s in res[mode].steps]
            assert all(x <= y for x, y in zip(narrow, [s.n_units for s in wider.steps], strict=True))
            for step in range(1, len(steps)):
                cohort = attempt(dropoff_cohort, ds, funnel, step)
                assert cohort is not None
                assert len(cohort) == res[mode].steps[step - 1].n_units - res[mode].steps[step].n_units
        suggested = attempt(suggest_steps, ds)
        if suggested is not None:
            known = set(frame["event"].dropna())
            assert set(suggested) <= known and len(suggested) <= 4, suggested
            assert len(suggested) >= min(2, len(known)), suggested


event_metrics = st.tuples(
    st.sampled_from(["{}", "{}", "converted:{}", "count:{}", "sum:revenue", "mean:revenue", "{}"]),
    st.sampled_from((*EVENTS, "no_such_event")),
)
experiment_metrics = st.lists(event_metrics, min_size=1, max_size=3)


def metric_specs(frame: pd.DataFrame, drawn: list[tuple[str, str]]) -> list[str]:
    """Metric specs on events the log has (unique, order kept)."""
    if "revenue" not in frame:
        drawn = [(form if "revenue" not in form else "converted:{}", name) for form, name in drawn]
    return list(dict.fromkeys(form.format(present_event(frame, name)) for form, name in drawn))


@SETTINGS
@given(data=event_logs(), metrics=experiment_metrics, segment=st.booleans(), sequential=st.booleans(),
       cap=st.sampled_from([None, 0.9]), exposure=st.sampled_from([None, "view"]))
def test_experiment_on_random_event_logs_returns_results_or_error_codes(data, metrics, segment, sequential, cap,
                                                                       exposure):
    with tempfile.TemporaryDirectory() as folder:
        ds = load_log(data, folder)
        if ds is None:
            return
        metrics = metric_specs(data[0], metrics)
        if "variant" in ds.column_names and ds.roles.variant is None:
            ds = attempt(ds.with_roles, variant="variant")
            if ds is None:
                return
        spec = ExperimentSpec(tuple(metrics[:2]), guardrails=tuple(metrics[2:]),
                              segment=dimension_of(data[0]) if segment else None,
                              sequential=sequential, cap_percentile=cap,
                              exposure_event=present_event(data[0], exposure) if exposure else None)
        check_experiment(ds, spec)


@SETTINGS
@given(data=event_logs(), metric=st.one_of(st.none(), event_metrics), top_k=st.integers(1, 5),
       min_units=st.integers(1, 10))
def test_segments_and_top_insights_keep_p_values_and_order_on_random_event_logs(data, metric, top_k, min_units):
    metric = metric_specs(data[0], [metric])[0] if metric else None
    with tempfile.TemporaryDirectory() as folder:
        ds = load_log(data, folder)
        if ds is None:
            return
        check_segments(ds, metric)
        check_insights(ds, metric, top_k, min_units)


# ---------------------------------------------------------------- unit tables


@SETTINGS
@given(data=unit_tables(), metric=st.sampled_from([None, "converted", "spend", "mean:spend"]),
       top_k=st.integers(1, 5), correction=st.sampled_from(["bh", "holm"]), min_units=st.integers(1, 10))
def test_every_analysis_holds_its_invariants_on_random_unit_tables(data, metric, top_k, correction, min_units):
    frame, fmt = data
    with tempfile.TemporaryDirectory() as folder:
        ds = load(frame, fmt, folder)
        if ds is None:
            return
        check_profile(ds)
        if "variant" in ds.column_names and ds.roles.variant is None:
            ds = attempt(ds.with_roles, variant="variant")
            if ds is None:
                return
        spec = ExperimentSpec(("converted", "spend"), segment="plan", sequential=True,
                              correction=correction)  # type: ignore[arg-type]
        res = check_experiment(ds, spec)
        if res is not None:
            assert res.health.n_units + res.health.n_null_variant == len(frame), res.health
        if res is not None and res.error is None:
            assert any(c.binary for c in res.comparisons if c.metric == "converted"), res.comparisons
        check_segments(ds, metric)
        check_insights(ds, metric, top_k, min_units)


# ---------------------------------------------------------------- degenerate cases (DESIGN.md)


def _log(variants: list[str | None], events: list[str]) -> pd.DataFrame:
    n = len(variants)
    return pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)],
        "event_time": [BASE + dt.timedelta(minutes=i) for i in range(n)],
        "event": events,
        "variant": variants,
    })


@pytest.mark.parametrize(("variants", "events", "code"), [
    (["control"] * 6, ["view", "purchase"] * 3, "one_variant"),
    ([None] * 6, ["view", "purchase"] * 3, "no_units"),
])
def test_degenerate_experiments_return_error_codes(variants, events, code, tmp_path):
    ds = load(_log(variants, events), "parquet", str(tmp_path), **EVENT_ROLES, variant="variant")
    assert ds is not None
    res = analyze_experiment(ds, ExperimentSpec(("purchase",)))
    assert res.error == code
    one_line(res.message or "")


def test_zero_conversions_give_comparisons_with_error_codes(tmp_path):
    frame = _log(["control", "treatment"] * 4, ["view"] * 7 + ["purchase"])
    frame.loc[frame["event"] == "purchase", "variant"] = None  # the only converter has no variant
    ds = load(frame, "csv", str(tmp_path), **EVENT_ROLES, variant="variant")
    assert ds is not None
    res = check_experiment(ds, ExperimentSpec(("purchase",)))
    assert res is not None and res.error is None
    (c,) = res.comparisons
    assert c.control_mean == 0 and c.variant_mean == 0
    assert c.error is not None


# ---------------------------------------------------------------- ask and user SQL

WORDS = ("conversion", "purchase", "rate", "by", "country", "variant", "treatment", "control", "revenue", "mean",
         "users", "view", "to", "cart", "funnel", "is", "higher", "lower", "than", "in", "DE", "US", "last", "week",
         "a'b", "sel;ect", "🎉", "'; DROP TABLE events; --", "%", "_", "\\", "NULL", "how", "many", "?", "0", "-1",
         "1e309", "average", "per", "day", "vs", "compare", "top", "events", "user_id", "\x00", "spend", "converted",
         "plan", "pro", "free", "co\"un try", "ünï", "from", "and", "share", "median", "total", "trend", "over", "time")


@pytest.fixture(scope="module")
def shop_ds(tmp_path_factory):
    frame = pd.DataFrame({
        "user_id": [f"u{i % 17}" for i in range(80)],
        "event_time": [BASE + dt.timedelta(hours=i * 7 % 50) for i in range(80)],
        "event": [("view", "cart", "purchase", "a'b", "sel;ect")[i * 3 % 5] for i in range(80)],
        "variant": [("control", "treatment")[i % 17 % 2] for i in range(80)],
        "country": [("US", "DE", None, "a'b")[i % 17 % 4] for i in range(80)],
        "revenue": [float(i % 9) - 2 for i in range(80)],
    })
    ds = load(frame, "parquet", str(tmp_path_factory.mktemp("shop")), **EVENT_ROLES, variant="variant",
              dimensions=("country",), metrics=("revenue",))
    assert ds is not None
    return ds


def check_ask(ds: Dataset, text: str) -> None:
    res = attempt(ask, ds, text)
    if res is None:
        return
    note_event(f"ask: {'answered' if res.answered else 'message'}")
    assert isinstance(res, AskResult)
    assert res.sql is not None or res.message, res
    if res.message:
        one_line(res.message)
    assert is_prob(res.p_value), res
    if res.verdict is not None:
        assert not math.isnan(res.p_value), res


TEMPLATES = ("{e} conversion by {d}", "how many users did {e}", "{e} rate by variant", "average {m} by {d}",
             "{v} users convert to {e} more than {w} users", "{v} raises {e} conversion", "total {m} by {d}",
             "funnel from {e} to {f}", "daily {e} in March", "share of users who did {e} by {d}",
             "{e} per user by {d}", "is {m} higher for {v} than {w}?", "how many {e} in the last 7 days")
SLOT = st.sampled_from((*EVENTS, *VARIANTS, *(c for c in COUNTRIES if c), *DIMENSION_NAMES, "spend", "revenue",
                        "converted", "plan", "pro", "free", "variant", "user_id", "event_time"))
TEMPLATED = st.builds(lambda t, e, f, d, m, v, w: t.format(e=e, f=f, d=d, m=m, v=v, w=w),
                      st.sampled_from(TEMPLATES), SLOT, SLOT, SLOT, SLOT, SLOT, SLOT)
QUESTIONS = st.one_of(TEMPLATED, st.tuples(st.lists(st.sampled_from(WORDS), max_size=8), st.text(max_size=12)).map(
    lambda t: " ".join(t[0] + ([t[1]] if t[1] else []))))


@SETTINGS
@given(text=QUESTIONS)
def test_ask_returns_an_answer_or_a_message_for_any_short_text(shop_ds, text):
    check_ask(shop_ds, text)


@SETTINGS
@given(table=st.one_of(event_logs().map(lambda d: ("log", d)), unit_tables().map(lambda d: ("units", d))),
       texts=st.lists(QUESTIONS, min_size=1, max_size=4))
def test_ask_on_random_tables_returns_an_answer_or_a_message(table, texts):
    kind, data = table
    with tempfile.TemporaryDirectory() as folder:
        ds = load_log(data, folder) if kind == "log" else load(data[0], data[1], folder)
        if ds is None:
            return
        for text in texts:
            check_ask(ds, text)


SQL_PARTS = ("SELECT", "*", "count(*)", "FROM", "events", "\"events\"", "WHERE", "event = 'a''b'", ";", "DROP TABLE",
             "DELETE FROM events", "INSERT INTO events VALUES (1)", "COPY events TO", "'{out}'", "ATTACH", "'{db}'",
             "AS x", "read_csv('/etc/passwd')", "getenv('HOME')", "PRAGMA version", "INSTALL httpfs", "SET",
             "threads = 1", "--", "/*", "*/", "'", "\"", "(", ")", "UNION ALL", "generate_series(1, 5)",
             "WITH t AS (SELECT 1)", "e, events f", "LIMIT 3", "user_id", "sel;ect", "🎉", "CALL", "EXPORT DATABASE",
             "'{out}'", "CREATE TABLE z AS", "pg_sleep(10)", "load_extension", "VACUUM", "\x00", "$1", "?")


@SETTINGS
@given(parts=st.lists(st.sampled_from(SQL_PARTS), min_size=0, max_size=10))
def test_user_sql_never_raises_and_never_changes_or_leaks_data(shop_ds, parts):
    with tempfile.TemporaryDirectory() as folder:
        out, db = Path(folder) / "out.csv", Path(folder) / "x.db"
        sql = " ".join(parts).replace("{out}", str(out)).replace("{db}", str(db))
        before = shop_ds.query(f"SELECT count(*) FROM {shop_ds.table_sql}")[0][0]
        try:
            res = run_user_sql(shop_ds, sql, timeout_seconds=2, max_rows=50)
        except UnsafeSQLError as exc:
            one_line(exc.reason)
            res = None
        if res is not None:
            assert isinstance(res, AskResult)
            assert len(res.rows) <= 50
            if res.message:
                one_line(res.message)
        assert shop_ds.query(f"SELECT count(*) FROM {shop_ds.table_sql}")[0][0] == before
        assert not out.exists() and not db.exists()


# ---------------------------------------------------------------- the command line

BAD_FILES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"a,b\n", b"user_id\n\n\n", b"PAR1\x00\x00PAR1", b"\x1f\x8b\x08\x00garbage",
                     b"user_id,event_time,event\nu1,not a time,view\n", b"x;y\r\n1;2\r\n", b"\"unterminated\n1,2"]),
)


@SETTINGS
@given(content=BAD_FILES, ext=st.sampled_from(["csv", "parquet", "csv.gz", "tsv"]),
       command=st.sampled_from(["profile", "funnel", "experiment", "top"]))
@example(content=b"", ext="csv", command="profile")
@example(content=b"PAR1\x00\x00PAR1", ext="parquet", command="top")
def test_cli_on_bad_files_exits_2_with_one_stderr_line(capsys, content, ext, command):
    extra = {"profile": [], "funnel": ["--steps", "view,purchase"], "experiment": ["--metric", "purchase"],
             "top": []}[command]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bad.{ext}"
        path.write_bytes(content)
        capsys.readouterr()
        code = cli_main([command, str(path), *extra, "--json"])
        err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err


def strict_json(text: str) -> Any:
    """Parse JSON that must be standard (no NaN or Infinity tokens)."""
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@SETTINGS
@given(data=event_logs(), command=st.sampled_from(["profile", "funnel", "experiment", "top", "segments"]),
       steps=st.lists(st.sampled_from(EVENTS), min_size=2, max_size=3), metric=event_metrics,
       window=st.sampled_from(["0", "90m", "7d", "99999999w"]), mode=st.sampled_from(["sequential", "strict", "any"]))
def test_cli_on_random_event_logs_prints_standard_json_or_one_error_line(capsys, data, command, steps, metric, window,
                                                                          mode):
    frame, fmt, _ = data
    metric_spec = metric_specs(frame, [metric])[0]
    dim = dimension_of(frame)
    extra = {
        "profile": [],
        "funnel": ["--steps", ",".join(present_event(frame, s) for s in steps), "--window", window, "--mode", mode,
                   *(["--by", dim] if dim else [])],
        "experiment": ["--metric", metric_spec, "--sequential", *(["--segment", dim] if dim else [])],
        "top": ["--metric", metric_spec],
        "segments": ["--metric", metric_spec],
    }[command]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"log.{fmt}"
        frame.to_parquet(path, index=False) if fmt == "parquet" else frame.to_csv(path, index=False)
        capsys.readouterr()
        code = cli_main([command, str(path), "--unit-col", "user_id", "--time-col", "event_time", "--event-col",
                         "event", *extra, "--json"])
        out, err = capsys.readouterr()
    note_event(f"{command}: exit {code}")
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    else:
        strict_json(out)
