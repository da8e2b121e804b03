"""Funnel step findings: segment x step conversion gaps on the inferred funnel, their SQL, and their ranking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from insights.findings import Finding
from insights.funnel_findings import funnel_findings, funnel_steps_for
from insights.metrics import parse_metric
from insights.ranking import rank

PATH = ("view_item", "add_to_cart", "begin_checkout", "purchase")


@pytest.fixture(scope="module")
def found(sample_ds):
    return funnel_findings(sample_ds, parse_metric("purchase", sample_ds))


def _get(found, step, dim, value):
    return next(f for f in found if f.detail("step") == step and (f.dimension, f.value) == (dim, value))


def test_inferred_funnel_ends_at_the_north_star(sample_ds):
    assert funnel_steps_for(sample_ds, parse_metric("purchase", sample_ds)) == PATH
    assert funnel_steps_for(sample_ds, parse_metric("begin_checkout", sample_ds)) == PATH[:3]
    # search is not on the inferred path, and a revenue mean is not a funnel metric
    assert funnel_steps_for(sample_ds, parse_metric("search", sample_ds)) == ()
    assert funnel_findings(sample_ds, parse_metric("mean:revenue", sample_ds)) == []


def test_tablet_checkout_step_matches_the_published_sample_numbers(found):
    # sample_data/README.md effect 4: tablet 447 / 1,525 = 29.3% vs others pooled 62.2%, p = 4e-135
    f = _get(found, 3, "device", "tablet")
    assert (f.n_units, f.detail("units_reached")) == (1525, 447)
    assert f.subject_mean == pytest.approx(447 / 1525)
    assert f.baseline_mean == pytest.approx(0.622, abs=5e-4)
    assert f.direction == "lower" and f.subject == "add_to_cart -> begin_checkout"
    assert 1e-136 < f.p_value < 1e-134


def test_p_value_equals_uncorrected_chi_square_on_the_two_by_two(found):
    # Independent route: the pooled z-test p equals Pearson's chi-square without Yates (scipy).
    for f in sorted(found, key=lambda f: f.key)[:10]:
        hit, rest_hit = round(f.subject_mean * f.n_units), round(f.baseline_mean * f.n_baseline)
        table = np.array([[hit, f.n_units - hit], [rest_hit, f.n_baseline - rest_hit]])
        p = chi2_contingency(table, correction=False).pvalue
        assert f.p_value == pytest.approx(p, rel=1e-6), f.key


def test_other_devices_are_tested_against_a_rest_without_tablets(found):
    for value in ("desktop", "mobile"):
        f = _get(found, 3, "device", value)
        assert f.n_baseline == sum(_get(found, 3, "device", v).n_units for v in ("desktop", "mobile")) - f.n_units
        assert "tablet" in f.caveat and f.p_value > 0.001


def test_every_funnel_finding_sql_reproduces_its_numbers(found, sample_ds):
    assert len(found) >= 20
    for f in found:
        cur = sample_ds.con.cursor()
        try:
            row = cur.execute(f.sql).fetchone()
            got = dict(zip([d[0] for d in cur.description], row, strict=True))
        finally:
            cur.close()
        for name in ("n_units", "n_baseline", "subject_mean", "baseline_mean", "effect"):
            assert got[name] == pytest.approx(getattr(f, name), rel=1e-9, abs=1e-12), (f.key, name)


def test_unit_tables_and_short_paths_give_no_funnel_findings(make_dataset):
    table = pd.DataFrame({"account": range(100), "plan": ["a", "b"] * 50, "converted": [0, 1] * 50})
    ds = make_dataset(table, unit="account")
    assert funnel_findings(ds, parse_metric("converted", ds)) == []
    log = pd.DataFrame({"u": [1, 2, 3], "t": [0, 0, 0], "e": ["a", "a", "b"], "seg": ["x", "y", "x"]})
    ds = make_dataset(log, unit="u", time="t", event="e", dimensions=("seg",))
    assert funnel_findings(ds, parse_metric("a", ds), steps=("a", "b")) == []


def test_planted_step_gap_is_found_and_noise_steps_are_not(make_dataset):
    rng = np.random.default_rng(11)
    rows = []
    for u in range(4000):
        seg = rng.choice(["web", "ios", "android"])
        rows.append((u, 0, "visit", seg))
        if rng.random() < 0.5:
            rows.append((u, 10, "cart", seg))
            if rng.random() < (0.3 if seg == "ios" else 0.6):
                rows.append((u, 20, "buy", seg))
    ds = make_dataset(pd.DataFrame(rows, columns=["u", "t", "e", "os"]), unit="u", time="t", event="e",
                      dimensions=("os",))
    found = funnel_findings(ds, parse_metric("buy", ds), steps=("visit", "cart", "buy"))
    strong = [f for f in found if f.p_value < 1e-4]
    assert [(f.value, f.subject, f.direction) for f in strong] == [("ios", "cart -> buy", "lower")]


def _finding(kind: str, key: str, n: int, rel: float) -> Finding:
    return Finding(kind=kind, metric="m", metric_label="purchase conversion", dimension="device", value="tablet",
                   direction="lower", subject_mean=0.05, baseline_mean=0.1, effect=-0.05, rel_effect=rel,
                   ci_low=math.nan, ci_high=math.nan, p_value=1e-30, n_units=n, n_baseline=n,
                   test="two-proportion z-test", sql="", chart=None, key=key,
                   subject="add_to_cart -> begin_checkout" if kind == "funnel_step" else "")


def test_ranking_folds_the_segment_into_its_funnel_step():
    segment = _finding("segment", "segment:tablet", 5000, -0.5)
    step = _finding("funnel_step", "funnel_step:tablet", 1500, -0.5)
    ranked = rank([segment, step])
    assert [f.key for f in ranked.top] == ["funnel_step:tablet"]
    assert ranked.top[0].score == pytest.approx(2500)  # the segment's score: 5,000 units x 50%
    assert "explains the lower purchase conversion" in ranked.top[0].rank_reason


def _numbers(found):
    return sorted((f.key, f.n_units, f.n_baseline, f.detail("units_reached"), round(f.p_value, 12)) for f in found)


def test_first_touch_from_the_per_unit_table_equals_the_event_scan(sample_ds, make_dataset):
    # The pipeline passes its per-unit table; the counts must equal the ones aggregated over the events,
    # also when a unit's first event has no value for a dimension (the first non-missing value counts).
    from insights.units import prepare_units

    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame({
        "uid": rng.integers(0, 600, n).astype(str),
        "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 20 * 86400, n), unit="s"),
        "ev": rng.choice(["visit", "cart", "buy"], n, p=[0.5, 0.3, 0.2]),
        "tier": rng.choice(["gold", "basic", None], n, p=[0.3, 0.5, 0.2]),
    })
    hostile = make_dataset(frame, unit="uid", time="ts", event="ev", dimensions=("tier",))
    for ds, steps in ((sample_ds, None), (hostile, ["visit", "cart", "buy"])):
        m = parse_metric("purchase" if steps is None else "buy", ds)
        table = prepare_units(ds, [m])
        try:
            via_units = funnel_findings(ds, m, steps, units=table)
        finally:
            table.close()
        direct = funnel_findings(ds, m, steps)
        assert via_units and _numbers(via_units) == _numbers(direct)
