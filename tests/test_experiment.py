"""analyze_experiment end to end: published results, outside references, health checks and edge cases."""

from __future__ import annotations

import datetime as dt
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from insights import ExperimentSpec, InsightsError, analyze_experiment, load_file
from insights.experiment import default_control
from tests.conftest import shared_file


def _units(groups: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """A unit table with ``groups[name] = (units, conversions)``, rows shuffled."""
    rows = []
    for name, (n, x) in groups.items():
        rows += [(name, 1 if k < x else 0) for k in range(n)]
    frame = pd.DataFrame(rows, columns=["arm", "converted"])
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.insert(0, "user_id", np.arange(len(frame)))
    return frame


def _by(result, metric: str, variant: str | None = None):
    return next(c for c in result.comparisons if c.metric == metric and (variant is None or c.variant == variant))


# --- real data ---------------------------------------------------------------------------------------------

def test_cookie_cats_matches_published_results() -> None:
    # Published (DataCamp "Mobile Games A/B Testing with Cookie Cats", see ../shared/data/cookie_cats/SOURCE.md):
    # 44,700 vs 45,489 players; retention_7 19.02% vs 18.20%, p = 0.0016; retention_1 44.82% vs 44.23%,
    # p = 0.0744; SRM p = 0.0086, which is not flagged at the 0.001 threshold.
    ds = load_file(shared_file("cookie_cats", "cookie_cats.csv"))
    r = analyze_experiment(ds, ExperimentSpec(metrics=("retention_7", "retention_1")))
    assert (r.variant_column, r.control, r.variants) == ("version", "gate_30", ("gate_30", "gate_40"))
    assert r.health.srm.counts == {"gate_30": 44700, "gate_40": 45489}
    assert r.health.srm.p_value == pytest.approx(0.0086, abs=5e-5)
    assert not r.health.srm.flagged
    r7, r1 = _by(r, "retention_7"), _by(r, "retention_1")
    assert (r7.control_mean, r7.variant_mean) == pytest.approx((0.1902, 0.1820), abs=5e-5)
    assert r7.p_value == pytest.approx(0.0016, abs=5e-5)
    assert (r1.control_mean, r1.variant_mean) == pytest.approx((0.4482, 0.4423), abs=5e-5)
    assert r1.p_value == pytest.approx(0.0744, abs=5e-5)
    assert r7.binary and r7.n_control == 44700 and r7.n_variant == 45489
    assert r7.chance_to_win < 0.01 and r7.rel_lift < 0


def test_udacity_reports_mismatched_and_duplicate_rows_then_matches_published_rates() -> None:
    # Udacity "Analyze A/B Test Results" (../shared/data/udacity_ab_data/SOURCE.md): 3,893 rows whose group and
    # landing_page disagree and one duplicated user; after removing them 290,584 users,
    # conversion 0.120386 (control) vs 0.118808 (treatment), two-sided p = 0.190.
    ds = load_file(shared_file("udacity_ab_data", "ab_data.csv.gz"))
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",)))
    h = r.health
    assert h.shadow is not None and h.shadow.column == "landing_page"
    assert h.shadow.mapping == {"control": "old_page", "treatment": "new_page"}
    assert h.n_mismatched_rows == 3893 and h.mismatched_excluded
    assert h.n_duplicate_rows == 1
    assert {w.code for w in h.warnings} == {"mismatched_assignment", "duplicate_units"}
    assert h.n_units == 290584
    c = _by(r, "converted")
    assert c.control_mean == pytest.approx(0.120386, abs=5e-7)
    assert c.variant_mean == pytest.approx(0.118808, abs=5e-7)
    assert c.p_value == pytest.approx(0.190, abs=5e-4)

    kept = analyze_experiment(ds, ExperimentSpec(metrics=("converted",), exclude_mismatched=False))
    assert kept.health.n_mismatched_rows == 3893 and not kept.health.mismatched_excluded
    assert kept.health.n_multiple_exposures == 1895  # the profile's count of units in both groups


# --- outside references through the full path ----------------------------------------------------------------

def test_srm_example_is_flagged_with_a_plain_explanation(make_dataset) -> None:
    # REFERENCES.md: 10000 vs 10500 at 50/50 -> chi-square p = 0.000479.
    ds = make_dataset(_units({"control": (10000, 1000), "treatment": (10500, 1050)}), unit="user_id", variant="arm")
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",)))
    assert r.health.srm.p_value == pytest.approx(0.000479, abs=5e-7)
    assert r.health.srm.flagged and r.health.warnings[0].code == "srm"
    assert "mismatch" in r.health.warnings[0].message
    planned = analyze_experiment(ds, ExperimentSpec(metrics=("converted",),
                                                    expected_split={"control": 10, "treatment": 10.5}))
    assert planned.health.srm.p_value == pytest.approx(1.0) and not planned.health.srm.flagged


def test_bayesian_chance_to_win_matches_growthbook_fixture(make_dataset) -> None:
    # GrowthBook gbstats fixture: binomial 49/100 vs 51/100 -> chance to win 0.60918.
    ds = make_dataset(_units({"control": (100, 49), "treatment": (100, 51)}), unit="user_id", variant="arm")
    c = _by(analyze_experiment(ds, ExperimentSpec(metrics=("converted",))), "converted")
    assert c.chance_to_win == pytest.approx(0.60918, abs=5e-5)


def test_relative_lift_matches_growthbook_binomial_fixture(make_dataset) -> None:
    # GrowthBook fixture: 14/28 vs 16/30 -> relative 0.06667, CI (-0.47767, 0.61101), p 0.80707 (delta method).
    ds = make_dataset(_units({"control": (28, 14), "treatment": (30, 16)}), unit="user_id", variant="arm")
    c = _by(analyze_experiment(ds, ExperimentSpec(metrics=("converted",))), "converted")
    assert (c.rel_lift, c.rel_ci_low, c.rel_ci_high) == pytest.approx((0.06667, -0.47767, 0.61101), abs=5e-5)


def test_continuous_metric_uses_welch_equal_to_scipy_on_raw_values(make_dataset) -> None:
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(2, 1, 400), rng.lognormal(2.1, 1.2, 380)
    frame = pd.DataFrame({"user_id": range(780), "arm": ["control"] * 400 + ["b"] * 380,
                          "spend": np.concatenate([a, b])})
    r = analyze_experiment(make_dataset(frame, unit="user_id", variant="arm"), ExperimentSpec(metrics=("spend",)))
    c = _by(r, "spend")
    assert not c.binary
    assert c.p_value == pytest.approx(sps.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-9)
    assert c.abs_diff == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert r.metrics[0].control_std == pytest.approx(a.std(ddof=1), rel=1e-9)


def test_capping_winsorizes_pooled_values_before_welch(make_dataset) -> None:
    rng = np.random.default_rng(6)
    values = rng.pareto(1.5, 1000)
    arm = np.where(np.arange(1000) % 2 == 0, "control", "t")
    frame = pd.DataFrame({"user_id": range(1000), "arm": arm, "spend": values})
    r = analyze_experiment(make_dataset(frame, unit="user_id", variant="arm"),
                           ExperimentSpec(metrics=("spend",), cap_percentile=0.95))
    capped = np.minimum(values, np.quantile(values, 0.95))  # numpy linear interpolation = DuckDB quantile_cont
    a, b = capped[arm == "control"], capped[arm == "t"]
    assert _by(r, "spend").p_value == pytest.approx(sps.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-9)


def test_family_is_metrics_times_variants_and_guardrails_stay_outside(make_dataset) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({"user_id": range(n), "arm": rng.choice(["control", "b", "c"], n),
                          "m1": rng.binomial(1, 0.3, n), "m2": rng.normal(0, 1, n), "g": rng.binomial(1, 0.5, n)})
    frame.loc[frame.arm == "c", "m2"] += 0.15
    ds = make_dataset(frame, unit="user_id", variant="arm")
    for method, sm in (("bh", "fdr_bh"), ("holm", "holm")):
        r = analyze_experiment(ds, ExperimentSpec(metrics=("m1", "m2"), guardrails=("g",), correction=method))
        family = [c for c in r.comparisons if c.role != "guardrail"]
        assert len(family) == 4 and {c.variant for c in family} == {"b", "c"}
        expected = multipletests([c.p_value for c in family], method=sm)[1]  # statsmodels, independently
        assert [c.p_value_adjusted for c in family] == pytest.approx(list(expected), rel=1e-12)
        guard = [c for c in r.comparisons if c.role == "guardrail"]
        assert len(guard) == 2 and all(c.p_value_adjusted == c.p_value for c in guard)
        assert [m.role for m in r.metrics] == ["primary", "secondary", "guardrail"]


def test_segments_fold_to_top_n_plus_other_and_adjust_across_segments(make_dataset) -> None:
    rng = np.random.default_rng(8)
    n = 4000
    country = rng.choice(list("ABCDEFG"), n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05])
    frame = pd.DataFrame({"user_id": range(n), "arm": rng.choice(["control", "t"], n), "country": country,
                          "converted": rng.binomial(1, 0.2, n)})
    frame.loc[rng.random(n) < 0.02, "country"] = None
    ds = make_dataset(frame, unit="user_id", variant="arm", dimensions=("country",))
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",), segment="country", top_n=3))
    sizes = frame.country.fillna("(missing)").value_counts()
    top = sorted(sizes.index, key=lambda k: (-sizes[k], k))[:3]
    assert [s.segment for s in r.segments] == [*top, "(other)"]
    assert r.n_segments_folded == len(sizes) - 3
    assert sum(s.comparison.n_control + s.comparison.n_variant for s in r.segments) == n
    raw = [s.comparison.p_value for s in r.segments]
    assert [s.comparison.p_value_adjusted for s in r.segments] == pytest.approx(
        list(multipletests(raw, method="fdr_bh")[1]))


def test_cumulative_series_ends_at_the_final_sequential_interval(make_dataset) -> None:
    rng = np.random.default_rng(9)
    n = 3000
    frame = pd.DataFrame({"user_id": range(n), "arm": rng.choice(["control", "t"], n),
                          "ts": [dt.datetime(2026, 5, 1) + dt.timedelta(hours=int(h)) for h in rng.integers(0, 240, n)],
                          "converted": rng.binomial(1, 0.25, n)})
    ds = make_dataset(frame, unit="user_id", variant="arm", time="ts")
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",), sequential=True))
    c = _by(r, "converted")
    assert len(r.cumulative) == 10
    last = r.cumulative[-1]
    assert (last.n_control, last.n_variant) == (c.n_control, c.n_variant)
    assert (last.ci_low, last.ci_high) == pytest.approx((c.seq_ci_low, c.seq_ci_high), rel=1e-12)
    assert c.seq_ci_low < c.abs_ci_low and c.seq_ci_high > c.abs_ci_high  # always-valid intervals are wider
    ps = [p.p_value for p in r.cumulative]
    assert all(b <= a for a, b in zip(ps, ps[1:], strict=False))  # running minimum
    assert r.health.days == pytest.approx((frame.ts.max() - frame.ts.min()).total_seconds() / 86400)


def test_cuped_on_event_log_reduces_variance_and_is_reported(make_dataset) -> None:
    rng = np.random.default_rng(10)
    rows = []
    for u in range(1500):
        arm = "control" if u % 2 else "t"
        habit = rng.poisson(3)  # the same habit drives activity before and after exposure
        t0 = dt.datetime(2026, 6, 1) + dt.timedelta(minutes=int(rng.integers(0, 5000)))
        rows += [(u, t0 - dt.timedelta(hours=k + 1), "view", arm) for k in range(rng.poisson(habit))]
        rows.append((u, t0, "exposure", arm))
        rows += [(u, t0 + dt.timedelta(hours=k + 1), "view", arm) for k in range(rng.poisson(habit))]
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "event", "arm"])
    ds = make_dataset(frame, unit="user_id", time="ts", event="event", variant="arm")
    on = analyze_experiment(ds, ExperimentSpec(metrics=("count:view",), exposure_event="exposure"))
    off = analyze_experiment(ds, ExperimentSpec(metrics=("count:view",), exposure_event="exposure", cuped=False))
    c_on, c_off = _by(on, "count:view"), _by(off, "count:view")
    assert on.cuped_available and c_on.cuped_applied and not c_off.cuped_applied
    assert c_on.variance_reduction > 0.2
    width_on, width_off = c_on.abs_ci_high - c_on.abs_ci_low, c_off.abs_ci_high - c_off.abs_ci_low
    assert width_on == pytest.approx(width_off * math.sqrt(1 - c_on.variance_reduction), rel=0.02)


# --- defaults, input errors and degenerate data -----------------------------------------------------------

def test_default_control_prefers_control_like_names_then_sorted_order() -> None:
    assert default_control(["treatment", "Control"]) == "Control"
    assert default_control(["gate_40", "gate_30"]) == "gate_30"
    assert default_control(["B", "A"]) == "A"
    assert default_control(["new", "old"]) == "old"


def test_bad_input_raises_one_line_insights_error(make_dataset) -> None:
    frame = pd.DataFrame({"user_id": [1, 2, 3], "converted": [0, 1, 1], "arm": ["a", "b", "a"]})
    no_variant = make_dataset(frame.drop(columns="arm"), unit="user_id")
    with pytest.raises(InsightsError) as exc:
        analyze_experiment(no_variant, ExperimentSpec(metrics=("converted",)))
    assert exc.value.code == "missing_variant"
    ds = make_dataset(frame, unit="user_id", variant="arm")
    for spec, code in ((ExperimentSpec(metrics=("converted",), control="zzz"), "bad_control"),
                       (ExperimentSpec(metrics=("nope",)), "bad_metric"),
                       (ExperimentSpec(metrics=()), "bad_metric"),
                       (ExperimentSpec(metrics=("converted",), exposure_event="x"), "bad_exposure"),
                       (ExperimentSpec(metrics=("converted",), alpha=2.0), "bad_option")):
        with pytest.raises(InsightsError) as exc:
            analyze_experiment(ds, spec)
        assert exc.value.code == code and "\n" not in exc.value.message


def test_one_variant_returns_error_code(make_dataset) -> None:
    ds = make_dataset(_units({"control": (50, 5)}), unit="user_id", variant="arm")
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",)))
    assert r.error == "one_variant" and r.comparisons == () and r.message
    assert r.health.srm.error == "too_few_groups"


def test_zero_conversions_and_zero_variance_and_tiny_n_give_codes(make_dataset) -> None:
    frame = _units({"control": (200, 0), "t": (200, 12), "tiny": (1, 1)})
    frame["flat"] = 3.0
    r = analyze_experiment(make_dataset(frame, unit="user_id", variant="arm"),
                           ExperimentSpec(metrics=("converted", "flat")))
    assert _by(r, "converted", "t").error == "zero_baseline"
    chi2 = sps.chi2_contingency([[0, 200], [12, 188]], correction=False)  # the pooled z-test's equal
    assert _by(r, "converted", "t").p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert _by(r, "flat", "t").error == "zero_variance"
    assert _by(r, "flat", "tiny").error == "too_few_units"
    assert r.health.small_variants == ("tiny",) and "small_variants" in {w.code for w in r.health.warnings}
    none = analyze_experiment(make_dataset(_units({"control": (50, 0), "t": (50, 0)}), unit="user_id", variant="arm"),
                              ExperimentSpec(metrics=("converted",)))
    assert _by(none, "converted").error == "no_conversions" and math.isnan(_by(none, "converted").p_value)


def test_negative_baseline_keeps_the_sign_of_the_lift(make_dataset) -> None:
    rng = np.random.default_rng(12)
    frame = pd.DataFrame({"user_id": range(600), "arm": ["control"] * 300 + ["t"] * 300,
                          "profit": np.concatenate([rng.normal(-10, 2, 300), rng.normal(-8, 2, 300)])})
    c = _by(analyze_experiment(make_dataset(frame, unit="user_id", variant="arm"),
                               ExperimentSpec(metrics=("profit",))), "profit")
    assert c.control_mean < 0 and c.abs_diff > 0 and c.rel_lift > 0 and c.rel_ci_low > 0
    assert c.chance_to_win > 0.99


def test_null_variant_values_are_excluded_and_reported(make_dataset) -> None:
    frame = _units({"control": (100, 10), "t": (100, 20)})
    frame.loc[:9, "arm"] = None
    r = analyze_experiment(make_dataset(frame, unit="user_id", variant="arm"), ExperimentSpec(metrics=("converted",)))
    assert r.health.n_null_variant == 10 and r.health.n_units == 190
    assert "null_variant" in {w.code for w in r.health.warnings}


def test_shadow_detection_is_generic_and_ignores_unrelated_dimensions(make_dataset) -> None:
    rng = np.random.default_rng(13)
    n = 2000
    arm = rng.choice(["A", "B"], n)
    screen = np.where(arm == "A", "small", "large")
    flip = rng.random(n) < 0.03
    screen[flip] = np.where(arm[flip] == "A", "large", "small")
    frame = pd.DataFrame({"user_id": range(n), "arm": arm, "screen": screen, "device": rng.choice(["x", "y"], n),
                          "converted": rng.binomial(1, 0.1, n)})
    ds = make_dataset(frame, unit="user_id", variant="arm", dimensions=("screen", "device"))
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",)))
    assert r.health.shadow is not None and r.health.shadow.column == "screen"
    assert r.health.n_mismatched_rows == int(flip.sum()) and r.health.n_units == n - int(flip.sum())
    clean = make_dataset(frame.drop(columns="screen"), unit="user_id", variant="arm", dimensions=("device",))
    assert analyze_experiment(clean, ExperimentSpec(metrics=("converted",))).health.shadow is None


def test_result_pickles_and_keeps_reproducing_sql(make_dataset) -> None:
    ds = make_dataset(_units({"control": (100, 10), "t": (100, 20)}), unit="user_id", variant="arm")
    r = analyze_experiment(ds, ExperimentSpec(metrics=("converted",)))
    assert repr(pickle.loads(pickle.dumps(r))) == repr(r)
    rows = ds.query(r.sql)
    assert {row[2]: row[7] for row in rows if row[0] == "variant"} == {"control": 10, "t": 20}


def test_shadow_pruning_by_a_sample_changes_nothing(make_dataset, monkeypatch) -> None:
    # find_shadow skips columns whose first rows already show more values than there are variants; with and without that
    # shortcut the shadow found, its mapping and its mismatch count must be identical.
    from insights import experiment_health

    rng = np.random.default_rng(5)
    n = 40_000
    grp = rng.choice(["control", "treatment"], n)
    page = np.where(grp == "control", "old_page", "new_page")
    flip = rng.random(n) < 0.03
    page = np.where(flip, np.where(page == "old_page", "new_page", "old_page"), page)
    frame = pd.DataFrame({"user_id": rng.integers(0, 9000, n).astype(str), "grp": grp, "landing": page,
                          "country": rng.choice(["US", "DE", "FR", "IN", "BR"], n),
                          "tier": rng.choice(["free", "pro"], n), "converted": rng.integers(0, 2, n)})
    ds = make_dataset(frame, unit="user_id", variant="grp", dimensions=("country", "landing", "tier"))
    kept = experiment_health._possible_shadows(ds, ("country", "landing", "tier"))
    assert kept == ("landing", "tier")  # five countries cannot mirror two variants
    pruned = experiment_health.find_shadow(ds)
    monkeypatch.setattr(experiment_health, "_possible_shadows", lambda _ds, candidates: candidates)
    assert pruned == experiment_health.find_shadow(ds)
    assert pruned is not None and pruned.column == "landing" and pruned.n_mismatched_rows == int(flip.sum())
