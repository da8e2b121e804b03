"""The same analyses on a real local Spark session return DuckDB's numbers.

The session (``local[2]``, started once per process) reads the whole bundled sample (537,243 rows) from its
Parquet file. Every expected value comes from DuckDB on the same rows: the file loaded by the ordinary loader
(``sample_ds``). Counts, text and times must be equal; statistics equal to 1e-9 relative.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from insights import (
    ExperimentSpec,
    FunnelSpec,
    analyze_experiment,
    analyze_funnel,
    find_insights,
    profile,
    segment_tests,
)
from insights.warehouse import open_engine_source
from tests.conftest import ROOT, SAMPLE
from tests.engine_servers import HOSTILE, REWRITES, assert_same, check_rewrite, hostile_frame, hostile_roles
from tests.engine_servers import spark_events as spark_events  # noqa: F401 - the fixture

FUNNEL = ("session_start", "view_item", "add_to_cart", "begin_checkout", "purchase")


@pytest.fixture(scope="module")
def spark_ds(spark_events):
    return open_engine_source("spark", table=spark_events)


def test_spark_schema_and_roles_equal_duckdb(spark_ds, sample_ds):
    assert spark_ds.dialect == "spark" and spark_ds.con is None
    assert spark_ds.columns == sample_ds.columns
    assert spark_ds.roles == sample_ds.roles and spark_ds.shape == sample_ds.shape == "event_log"


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_each_sql_rewrite_returns_duckdbs_result_on_spark(name, spark_ds, sample_ds):
    check_rewrite(name, spark_ds, sample_ds)


def test_approx_count_distinct_is_exact_on_spark(spark_ds, sample_ds):
    # DuckDB's sketch is approximate, so the expected value is DuckDB's exact count(DISTINCT ...)
    want = sample_ds.query(f"SELECT count(DISTINCT user_id), count(DISTINCT country) FROM {sample_ds.table_sql}")
    got = spark_ds.query(f"SELECT approx_count_distinct(user_id), approx_count_distinct(country) "
                         f"FROM {spark_ds.table_sql}")
    assert got == want


def test_profile_on_spark_equals_duckdb(spark_ds, sample_ds):
    got = profile(spark_ds)
    assert_same(got, profile(sample_ds))
    assert got.n_rows == 537_243 and got.source.startswith("shop_events on Spark")


@pytest.mark.parametrize("metric", ["purchase", "sum:revenue"])
def test_segment_tests_on_spark_equal_duckdb(metric, spark_ds, sample_ds):
    got_metric, got = segment_tests(spark_ds, metric)
    want_metric, want = segment_tests(sample_ds, metric)
    assert got_metric == want_metric and len(want) >= 10
    # matched by key: the two sides of a two-valued dimension tie on p, and the last bit decides their order
    assert_same(sorted(got, key=lambda f: f.key), sorted(want, key=lambda f: f.key))


def test_sequential_funnel_on_spark_equals_duckdb(spark_ds, sample_ds):
    spec = FunnelSpec(FUNNEL, window_seconds=3 * 86_400, by="device")
    got = analyze_funnel(spark_ds, spec)
    want = analyze_funnel(sample_ds, spec)
    assert want.steps[-1].n_units > 1000 and want.breakdown and want.variants
    assert_same(got, want)


def test_experiment_on_spark_equals_duckdb(spark_ds, sample_ds):
    # exposure event, CUPED on the pre-exposure period, capping, a segment breakdown and sequential intervals
    spec = ExperimentSpec(metrics=("purchase", "sum:revenue"), exposure_event="experiment_exposure", segment="device",
                          sequential=True, cap_percentile=0.99)
    want = analyze_experiment(sample_ds, spec)
    assert want.error is None and want.comparisons and want.segments
    assert_same(analyze_experiment(spark_ds, spec), want)


def test_top_insights_on_spark_equal_duckdb(spark_ds, sample_ds):
    # every analysis of the pipeline: segments, distributions, experiment, funnel steps, launches, data quality
    docs = ROOT / "sample_data" / "initiatives"
    want = find_insights(sample_ds, "purchase", docs=docs)
    assert len(want.insights) == 5 and want.tests_run > 100
    # Chart labels are left out here: a distribution chart labels quantile edges of per-unit means at 4 digits,
    # and a mean whose last bit differs (another summation order) can round to the next label (14.61 vs 14.62).
    # The dialect and the events view name the engine itself.
    got = find_insights(spark_ds, "purchase", docs=docs)
    assert got.dialect == spark_ds.dialect != want.dialect
    assert_same(got, want, skip=("sql", "source", "chart", "dialect", "events_name", "events_sql"))


def test_temporary_relations_are_dropped_on_spark(spark_ds, sample_ds):
    analyze_funnel(spark_ds, FunnelSpec(FUNNEL[:3]))
    segment_tests(spark_ds, "purchase")
    views = {r[1] for r in spark_ds.engine.query("SHOW VIEWS")}  # type: ignore[union-attr]
    assert not {v for v in views if v.startswith(("funnel_levels_", "units"))}


def test_cli_funnel_on_spark_reads_parquet_through_sql_and_prints_the_files_json():
    steps = "session_start,add_to_cart,purchase"
    got = subprocess.run([sys.executable, "-m", "insights", "funnel", "--source", "spark", "--sql",
                          f"SELECT * FROM parquet.`{SAMPLE}`", "--steps", steps, "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    want = subprocess.run([sys.executable, "-m", "insights", "funnel", str(SAMPLE), "--steps", steps, "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert got.returncode == 0, got.stderr
    assert_same(json.loads(got.stdout), json.loads(want.stdout))


def test_cli_unknown_spark_table_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "insights", "profile", "--source", "spark", "--table", "no_such"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr


@pytest.mark.parametrize(("mode", "steps"), [("strict", ("add_to_cart", "begin_checkout", "purchase")),
                                             ("any", ("session_start", "view_item", "add_to_cart", "purchase"))])
def test_strict_and_any_order_funnels_on_spark_equal_duckdb(mode, steps, spark_ds, sample_ds):
    spec = FunnelSpec(steps, window_seconds=86_400, mode=mode, by="device")
    want = analyze_funnel(sample_ds, spec)
    assert want.steps[-1].n_units > 100
    assert_same(analyze_funnel(spark_ds, spec), want)


def test_hostile_column_names_and_nulls_on_spark_equal_duckdb(spark_events, make_dataset, tmp_path):
    from insights.engines_spark import spark_session

    frame = hostile_frame()
    want_ds = make_dataset(frame, **hostile_roles())
    path = tmp_path / "hostile.parquet"
    frame.to_parquet(path, index=False)
    spark_session().read.parquet(str(path)).createOrReplaceTempView("hostile")
    got_ds = open_engine_source("spark", table="hostile").with_roles(**hostile_roles())
    assert_same(profile(got_ds), profile(want_ds))
    got, want = segment_tests(got_ds, "c")[1], segment_tests(want_ds, "c")[1]
    assert len(want) == 2
    assert_same(sorted(got, key=lambda f: f.key), sorted(want, key=lambda f: f.key))
    spec = FunnelSpec(("a", "b", "c"), window_seconds=2 * 86_400, by=HOSTILE["dim"])
    assert_same(analyze_funnel(got_ds, spec), analyze_funnel(want_ds, spec))
