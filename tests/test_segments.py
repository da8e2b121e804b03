"""Segment and distribution scans against independent computations on the raw rows (numpy, scipy, statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

from insights import parse_metric
from insights.distributions import mann_whitney_binned, scan_distributions
from insights.segments import scan_segments, segment_stats, stratified_difference
from insights.stats import SampleStats
from insights.units import prepare_units


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n = 3000
    return pd.DataFrame({
        "user id": [f"u{i}" for i in range(n)],
        "Region": rng.choice(["n", "s", "e", None], n, p=[0.4, 0.3, 0.2, 0.1]),
        "age": rng.integers(18, 90, n),
        "bought": (rng.random(n) < 0.2).astype(int),
        "spend": rng.lognormal(2, 1, n),
    })


def test_sufficient_stats_equal_numpy_on_raw_rows(frame, make_dataset):
    ds = make_dataset(frame, unit="user id", dimensions=("Region", "age"), metrics=("bought", "spend"))
    m = parse_metric("spend", ds)
    table = prepare_units(ds, [m])
    rows = {(s.dimension, s.value): s.stats for s in segment_stats(table, m)}
    for value, grp in frame.groupby(frame["Region"].fillna("(missing)")):
        s = rows[("Region", value)]
        assert s.n == len(grp)
        assert s.sum == pytest.approx(grp["spend"].sum(), rel=1e-12)
        assert s.sum_sq == pytest.approx((grp["spend"] ** 2).sum(), rel=1e-12)
    assert rows[(None, None)].n == len(frame)
    # age is numeric with many values: quartile buckets
    assert len([k for k in rows if k[0] == "age"]) == 4
    table.close()


def test_binary_segment_p_value_equals_statsmodels_ztest(frame, make_dataset):
    ds = make_dataset(frame, unit="user id", dimensions=("Region",), metrics=("bought",))
    m = parse_metric("bought", ds)
    table = prepare_units(ds, [m])
    f = next(f for f in scan_segments(table, m) if f.value == "s")
    seg, rest = frame[frame["Region"] == "s"], frame[frame["Region"] != "s"]
    _, p = proportions_ztest([seg["bought"].sum(), rest["bought"].sum()], [len(seg), len(rest)])
    assert f.p_value == pytest.approx(p, rel=1e-9)
    assert f.subject_mean == pytest.approx(seg["bought"].mean())
    table.close()


def test_continuous_segment_p_value_equals_scipy_welch(frame, make_dataset):
    ds = make_dataset(frame, unit="user id", dimensions=("Region",), metrics=("spend",))
    m = parse_metric("spend", ds)
    table = prepare_units(ds, [m])
    f = next(f for f in scan_segments(table, m) if f.value == "(missing)")
    seg, rest = frame[frame["Region"].isna()], frame[frame["Region"].notna()]
    ref = sps.ttest_ind(seg["spend"], rest["spend"], equal_var=False)
    assert f.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    table.close()


def test_binned_mann_whitney_equals_scipy_on_the_binned_values():
    rng = np.random.default_rng(9)
    a, b = rng.integers(0, 6, 400), rng.integers(1, 7, 300)
    ref = sps.mannwhitneyu(a, b, use_continuity=False, method="asymptotic")
    got = mann_whitney_binned(np.bincount(a, minlength=7), np.bincount(b, minlength=7))
    assert got.u == pytest.approx(ref.statistic)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_distribution_scan_matches_scipy_on_quantile_bins(frame, make_dataset):
    ds = make_dataset(frame, unit="user id", dimensions=("Region",), metrics=("spend",))
    m = parse_metric("spend", ds)
    table = prepare_units(ds, [m])
    f = next(f for f in scan_distributions(table, m) if f.value == "n")
    edges = np.unique(np.quantile(frame["spend"], np.arange(1, 20) / 20))
    bins = np.searchsorted(edges, frame["spend"], side="left")  # count of edges strictly below the value
    seg = frame["Region"] == "n"
    ref = sps.mannwhitneyu(bins[seg], bins[~seg], use_continuity=False, method="asymptotic")
    assert f.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    table.close()


def test_stratified_difference_with_one_stratum_is_the_unpooled_z_test():
    rng = np.random.default_rng(2)
    x, y = rng.normal(1.0, 2.0, 500), rng.normal(1.3, 1.0, 800)
    eff, p = stratified_difference([(SampleStats.from_values(y), SampleStats.from_values(x))])
    z = (y.mean() - x.mean()) / np.sqrt(y.var(ddof=1) / len(y) + x.var(ddof=1) / len(x))
    assert eff == pytest.approx(y.mean() - x.mean())
    assert p == pytest.approx(2 * sps.norm.sf(abs(z)))


def test_too_small_segments_are_not_tested(make_dataset):
    frame = pd.DataFrame({"uid": [f"u{i}" for i in range(100)], "grp": ["a"] * 90 + ["b"] * 10,
                          "ok": [0, 1] * 50})
    ds = make_dataset(frame, unit="uid", dimensions=("grp",), metrics=("ok",))
    m = parse_metric("ok", ds)
    table = prepare_units(ds, [m])
    assert scan_segments(table, m) == []
    table.close()
