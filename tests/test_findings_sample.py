"""Top insights on the bundled sample: the planted effects (sample_data/README.md) rank, nothing unplanted does,
and every finding's SQL reproduces its numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from insights.pipeline import find_insights

DOCS = Path(__file__).resolve().parent.parent / "sample_data" / "initiatives"


@pytest.fixture(scope="module")
def result(sample_ds):
    return find_insights(sample_ds, "purchase", docs=DOCS)


def _has(findings, **want) -> bool:
    return any(all(getattr(f, k) == v for k, v in want.items()) for f in findings)


def test_planted_effects_are_in_the_top_five(result):
    top = result.insights
    assert len(top) == 5
    # README effect 1: treatment lifts purchase, mostly on mobile (+23.5%, p = 2e-6).
    assert _has(top, kind="experiment_effect", dimension="device", value="mobile", direction="higher")
    # Effect 2: paid_social purchases less (7.60% vs 12.64%).
    assert _has(top, dimension="channel", value="paid_social", direction="lower")
    # Effect 3: German orders are bigger (+26%).
    assert _has(top, dimension="country", value="DE", direction="higher")
    # Effect 4: tablet checkout step broken (shows as tablet converting less, or as the funnel step).
    assert _has(top, dimension="device", value="tablet", direction="lower")
    # Effect 5: smart search launch on 2026-09-21.
    assert any(f.kind == "launch_change" and "2026-09-21" in f.key and f.direction == "higher" for f in top)


def test_data_quality_faults_are_reported_among_eligible_findings(result):
    eligible = result.all_findings[: result.n_eligible]
    dup = next(f for f in eligible if f.key == "data_quality:duplicate_rows")
    multi = next(f for f in eligible if f.key == "experiment_health:multiple_variants")
    assert (dup.n_units, multi.n_units) == (322, 54)  # README effect 6


def test_nothing_unplanted_is_eligible(result):
    eligible = result.all_findings[: result.n_eligible]
    assert not _has(eligible, dimension="plan")
    assert all(f.value == "DE" for f in eligible if f.dimension == "country")
    assert all(f.value == "paid_social" for f in eligible if f.dimension == "channel" and f.kind == "segment")


def test_every_finding_sql_reproduces_its_numbers(result, sample_ds):
    eligible = result.all_findings[: result.n_eligible]
    checked = 0
    for f in eligible:
        cur = sample_ds.con.cursor()
        try:
            cur.execute(f.sql)
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        finally:
            cur.close()
        got = dict(zip(names, row, strict=True))
        for name in ("n_units", "n_baseline", "subject_mean", "baseline_mean", "effect"):
            if name in got and not math.isnan(getattr(f, name)):
                assert got[name] == pytest.approx(getattr(f, name), rel=1e-9, abs=1e-12), (f.key, name)
                checked += 1
    assert checked >= 5 * len(eligible) - 10


def test_every_test_counts_in_one_family(result):
    tests = [f for f in result.all_findings if f.is_test]
    launches = [f for f in result.all_findings if f.kind == "launch_change"]
    # each launch finding also ran a pre-trend test, counted in the family
    assert result.tests_run == len(tests) + len(launches)
    assert all(f.p_value_adjusted >= f.p_value for f in tests)
    assert all(f.p_value_adjusted <= result.fdr for f in result.insights if f.is_test)


def test_the_compressed_store_gives_the_same_findings(result, monkeypatch):
    # Files from INSIGHTS_COMPRESS_FROM_MB on are stored in a compressed database file instead of in memory;
    # the whole pipeline on the sample stored that way must find the same tests, findings and numbers.
    from insights import load_file, loading
    from tests.conftest import SAMPLE

    monkeypatch.setattr(loading, "COMPRESS_FROM_MB", 0.0)
    stored = load_file(SAMPLE)
    assert stored.query("SELECT count(*) FROM duckdb_databases() WHERE path IS NOT NULL") == [(1,)]
    again = find_insights(stored, "purchase", docs=DOCS)
    assert again.tests_run == result.tests_run and again.n_eligible == result.n_eligible
    assert [f.key for f in again.all_findings] == [f.key for f in result.all_findings]
    for a, b in zip(again.all_findings, result.all_findings, strict=True):
        assert (a.n_units, a.n_baseline, a.statement) == (b.n_units, b.n_baseline, b.statement), a.key
        assert a.p_value == pytest.approx(b.p_value, rel=1e-6, nan_ok=True), a.key
