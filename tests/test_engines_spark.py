"""What only Spark has: temporary views, the CLI on a Spark session, a hostile table read from Parquet.

The analyses themselves are compared with DuckDB's in ``test_engines_equal_duckdb.py``.

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
    FunnelSpec,
    analyze_funnel,
    segment_tests,
)
from insights.warehouse import open_engine_source
from tests.conftest import ROOT, SAMPLE
from tests.engine_servers import assert_same, check_hostile, hostile_frame, hostile_roles
from tests.engine_servers import spark_events as spark_events  # noqa: F401 - the fixture

FUNNEL = ("session_start", "view_item", "add_to_cart", "begin_checkout", "purchase")


@pytest.fixture(scope="module")
def spark_ds(spark_events):
    return open_engine_source("spark", table=spark_events)


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


def test_hostile_column_names_and_nulls_on_spark_equal_duckdb(spark_events, make_dataset, tmp_path):
    from insights.engines_spark import spark_session

    frame = hostile_frame()
    want_ds = make_dataset(frame, **hostile_roles())
    path = tmp_path / "hostile.parquet"
    frame.to_parquet(path, index=False)
    spark_session().read.parquet(str(path)).createOrReplaceTempView("hostile")
    got_ds = open_engine_source("spark", table="hostile").with_roles(**hostile_roles())
    check_hostile(got_ds, want_ds)
