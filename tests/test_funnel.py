"""Funnel analysis: published counts, breakdown and variant statistics, hostile names, cohorts, CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from insights import FunnelSpec, InsightsError, analyze_funnel, dropoff_cohort, load_file, parse_window, suggest_steps
from insights.cli import main
from insights.funnel_sql import build_funnel_sql
from tests.conftest import ROOT, shared_file

ECOMMERCE = ("home_page", "search_page", "payment_page", "payment_confirmation_page")


@pytest.fixture(scope="module")
def ecommerce():
    return load_file(shared_file("ecommerce_funnel", "DERIVED_events_long.csv.gz"))


def test_published_ecommerce_counts_overall_and_by_device(ecommerce):
    # Published counts (../shared/data/ecommerce_funnel/SOURCE.md; REFERENCES.md): 90,400 -> 45,200 -> 6,030 -> 452;
    # desktop 60,200/30,100/3,010/150; mobile 30,200/15,100/3,020/302. Steps of one day share a DATE: ties by step.
    r = analyze_funnel(ecommerce, FunnelSpec(ECOMMERCE, by="device"))
    assert [s.n_units for s in r.steps] == [90_400, 45_200, 6_030, 452]
    by = {seg.segment: [s.n_units for s in seg.steps] for seg in r.breakdown}
    assert by == {"Desktop": [60_200, 30_100, 3_010, 150], "Mobile": [30_200, 15_100, 3_020, 302]}


def test_breakdown_p_values_equal_statsmodels_on_the_published_counts(ecommerce):
    r = analyze_funnel(ecommerce, FunnelSpec(ECOMMERCE, by="device"))
    counts = {"Desktop": [60_200, 30_100, 3_010, 150], "Mobile": [30_200, 15_100, 3_020, 302]}
    raw = []
    for seg, rest in (("Desktop", "Mobile"), ("Mobile", "Desktop")):
        for j in (1, 2, 3):
            raw.append(proportions_ztest([counts[seg][j], counts[rest][j]], [counts[seg][0], counts[rest][0]])[1])
    expected_adj = multipletests(raw, method="fdr_bh")[1]
    got = [s for seg in r.breakdown for s in seg.steps[1:]]
    np.testing.assert_allclose([s.p_value for s in got], raw, rtol=1e-9)
    np.testing.assert_allclose([s.p_value_adjusted for s in got], expected_adj, rtol=1e-9)
    mobile = r.breakdown[1]
    assert mobile.steps[3].abs_diff == pytest.approx(302 / 30_200 - 150 / 60_200)


def _toy(n_per_group: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_per_group * 2):
        variant = "control" if u % 2 == 0 else "treatment"
        rows.append((u, 0, "land", variant, "big" if u % 5 else "small"))
        if rng.random() < (0.5 if variant == "control" else 0.7):
            rows.append((u, 10, "buy", variant, "x"))
    return pd.DataFrame(rows, columns=["user_id", "ts", "event", "variant", "tier"])


def test_variant_comparison_matches_statsmodels_and_segments_below_minimum_are_not_tested(make_dataset):
    frame = _toy()
    ds = make_dataset(frame, unit="user_id", time="ts", event="event", variant="variant")
    r = analyze_funnel(ds, FunnelSpec(("land", "buy"), by="tier", min_segment_units=100))
    buyers = frame[frame.event == "buy"].groupby("variant").size()
    [v] = r.variants
    assert (v.control, v.variant, v.n_control, v.x_control, v.x_variant) == \
        ("control", "treatment", 200, buyers["control"], buyers["treatment"])
    p = proportions_ztest([buyers["treatment"], buyers["control"]], [200, 200])[1]
    assert v.p_value == pytest.approx(p, rel=1e-9) and v.p_value_adjusted == pytest.approx(p, rel=1e-9)
    assert v.ci_low < v.abs_diff < v.ci_high
    segs = {s.segment: s for s in r.breakdown}
    assert segs["big"].n_units == 320 and segs["small"].n_units == 80
    assert not segs["small"].tested and "fewer than 100" in (segs["small"].reason or "")
    assert math.isnan(segs["small"].steps[1].p_value)


def test_top_n_folds_smaller_segments_into_other_and_missing_values_get_a_label(make_dataset):
    frame = pd.DataFrame({"u": range(10), "t": 0, "e": "a", "seg": ["p"] * 4 + ["q"] * 3 + ["r"] * 2 + [None]})
    frame = pd.concat([frame, frame.assign(t=1, e="b")])
    ds = make_dataset(frame, unit="u", time="t", event="e")
    r = analyze_funnel(ds, FunnelSpec(("a", "b"), by="seg", top_n=2, min_segment_units=1))
    assert [(s.segment, s.n_units) for s in r.breakdown] == [("p", 4), ("q", 3), ("(other)", 3)]
    r = analyze_funnel(ds, FunnelSpec(("a", "b"), by="seg", top_n=5, min_segment_units=1))
    assert ("(missing)", 1) in [(s.segment, s.n_units) for s in r.breakdown]


def test_hostile_event_and_column_names_work(make_dataset):
    ev1, ev2 = "it's \"quoted\"; DROP TABLE events; --", "$p0 ${x}"
    frame = pd.DataFrame({'us"er': [1, 1, 2], "wh en'": [0, 5, 0], "ev ent;": [ev1, ev2, ev1],
                          "seg--": ["o'k", "o'k", "x"]})
    ds = make_dataset(frame, unit='us"er', time="wh en'", event="ev ent;")
    r = analyze_funnel(ds, FunnelSpec((ev1, ev2), by="seg--", min_segment_units=1))
    assert [s.n_units for s in r.steps] == [2, 1]
    assert {s.segment for s in r.breakdown} == {"o'k", "x"}
    assert ds.query(r.sql)[0][:2] == (2, 1)  # the displayed SQL (literals inlined) reproduces the counts
    sql, params = build_funnel_sql(ds, [ev1, ev2], 60)
    assert ev1 not in sql and ev1 in params.values()


def test_time_to_convert_histogram_and_trend(make_dataset):
    frame = pd.DataFrame({"u": [1, 1, 2, 2, 3], "t": [0, 30, 86_400, 86_400 + 7_200, 2 * 86_400],
                          "e": ["a", "b", "a", "b", "a"]})
    ds = make_dataset(frame, unit="u", time="t", event="e")
    r = analyze_funnel(ds, FunnelSpec(("a", "b")))
    assert r.steps[1].median_seconds_from_previous == pytest.approx(np.median([30, 7_200]))
    assert r.steps[1].p90_seconds_from_previous == pytest.approx(np.quantile([30, 7_200], 0.9))
    assert {(b.bin_start_seconds, b.n_units) for b in r.histogram} == {(0, 1), (3600, 1)}
    assert r.trend_grain == "day" and [p.n_units for p in r.trend] == [(1, 1), (1, 1), (1, 0)]
    assert r.steps[1].drop_off == 1 and r.steps[1].drop_off_rate == pytest.approx(1 / 3)


def test_dropoff_cohort_lists_units_that_stopped_at_the_step(make_dataset):
    frame = pd.DataFrame({"u": [1, 1, 1, 2, 2, 3], "t": [0, 1, 2, 0, 1, 0], "e": ["a", "b", "c", "a", "b", "a"]})
    ds = make_dataset(frame, unit="u", time="t", event="e")
    spec = FunnelSpec(("a", "b", "c"))
    assert dropoff_cohort(ds, spec, 1)["unit"].tolist() == [3]
    assert dropoff_cohort(ds, spec, 2)["unit"].tolist() == [2]
    with pytest.raises(InsightsError):
        dropoff_cohort(ds, spec, 3)


def test_suggest_steps_returns_the_most_common_path(make_dataset):
    paths = [["a", "b", "c"]] * 5 + [["a", "c", "b"]] * 2 + [["b", "a"]] * 3
    rows = [(u, i, e) for u, p in enumerate(paths) for i, e in enumerate(p)]
    ds = make_dataset(pd.DataFrame(rows, columns=["u", "t", "e"]), unit="u", time="t", event="e")
    assert suggest_steps(ds, 3) == ("a", "b", "c")


@pytest.mark.parametrize("steps", [("a",), ("a", "nope"), tuple("abcdefghijk")])
def test_bad_steps_raise_one_line_errors(make_dataset, steps):
    ds = make_dataset(pd.DataFrame({"u": [1, 1], "t": [0, 1], "e": ["a", "b"]}), unit="u", time="t", event="e")
    with pytest.raises(InsightsError) as info:
        analyze_funnel(ds, FunnelSpec(steps))
    assert "\n" not in info.value.message


def test_parse_window_units():
    assert [parse_window(w) for w in ("90m", "12h", "7d", "2w", "45s", "30")] == \
        [5400, 43_200, 604_800, 1_209_600, 45, 30]
    with pytest.raises(InsightsError):
        parse_window("-3d")


def test_cli_json_contract_via_main(ecommerce, capsys):
    path = shared_file("ecommerce_funnel", "DERIVED_events_long.csv.gz")
    assert main(["funnel", str(path), "--steps", ",".join(ECOMMERCE), "--by", "device", "--window", "1d",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["units"] for s in out["steps"]] == [90_400, 45_200, 6_030, 452]
    assert set(out["steps"][1]) >= {"event", "units", "conversion_from_start", "conversion_from_previous",
                                    "median_seconds_from_previous"}
    seg = out["breakdown"][0]
    assert seg["segment"] == "Desktop" and {"p_value", "p_value_adjusted"} <= set(seg["steps"][1])


def test_cli_bad_step_exits_2_with_one_line(tmp_path):
    path = tmp_path / "e.csv"
    pd.DataFrame({"user_id": [1, 1], "ts": ["2024-01-01 00:00", "2024-01-01 00:01"], "event": ["a", "b"]}) \
        .to_csv(path, index=False)
    cmd = [sys.executable, "-m", "insights", "funnel", str(path), "--unit-col", "user_id", "--steps"]
    ok = subprocess.run([*cmd, "a,b", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and [s["units"] for s in json.loads(ok.stdout)["steps"]] == [1, 1]
    bad = subprocess.run([*cmd, "a,zzz"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "zzz" in bad.stderr
