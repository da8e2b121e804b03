"""What only PostgreSQL has: credentials, the CLI on a server, sessions shared by threads, rows coming back.

The analyses themselves are compared with DuckDB's in ``test_engines_equal_duckdb.py``. A throwaway cluster
(``tests/engine_servers.py``) holds the whole bundled sample (537,243 rows, loaded with COPY); expected values
come from DuckDB on the same rows (``sample_ds``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from insights import (
    ExperimentSpec,
    FunnelSpec,
    analyze_experiment,
    analyze_funnel,
    profile,
    segment_tests,
)
from insights.engines_pg import PostgresEngine
from insights.errors import InsightsError
from insights.sql import quote_ident
from insights.warehouse import open_engine_source
from tests.conftest import ROOT, SAMPLE
from tests.engine_servers import assert_same, check_hostile, hostile_frame, hostile_roles
from tests.engine_servers import postgres_server as postgres_server  # noqa: F401 - the fixture

FUNNEL = ("session_start", "view_item", "add_to_cart", "begin_checkout", "purchase")


@pytest.fixture(scope="module")
def pg_ds(postgres_server):
    engine = PostgresEngine(postgres_server.url, {"password": postgres_server.password})
    ds = open_engine_source(postgres_server.url, table="public.shop_events", engine=engine)
    yield ds
    engine.close()


def test_password_comes_from_secrets_or_pgpassword_never_the_url(postgres_server):
    with pytest.raises(InsightsError) as err:
        PostgresEngine(postgres_server.url, {})
    assert err.value.code == "unreachable_source" and postgres_server.password not in err.value.message
    PostgresEngine(postgres_server.url, {"password": postgres_server.password}).close()


def _cli(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password:
        env["PGPASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "insights", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


def test_cli_profile_on_postgres_prints_the_files_json(postgres_server):
    got = _cli("profile", "--source", postgres_server.url, "--table", "shop_events", "--json",
               password=postgres_server.password)
    want = _cli("profile", str(SAMPLE), "--json")
    assert got.returncode == 0 and want.returncode == 0, got.stderr
    got_json, want_json = json.loads(got.stdout), json.loads(want.stdout)
    got_json.pop("source"), want_json.pop("source")
    assert_same(got_json, want_json)


def test_cli_funnel_on_a_postgres_select_prints_the_files_json(postgres_server):
    got = _cli("funnel", "--source", postgres_server.url, "--sql", "SELECT * FROM shop_events WHERE true",
               "--steps", "session_start,add_to_cart,purchase", "--json", password=postgres_server.password)
    want = _cli("funnel", str(SAMPLE), "--steps", "session_start,add_to_cart,purchase", "--json")
    assert got.returncode == 0, got.stderr
    assert_same(json.loads(got.stdout), json.loads(want.stdout))


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/none", "postgresql://a b c"])
def test_cli_unreachable_or_bad_postgres_url_is_one_line_and_exit_2(url):
    done = _cli("profile", "--source", url, "--table", "events")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: ")


def test_two_threads_on_one_postgres_session_take_turns_with_the_units_table(pg_ds):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: segment_tests(pg_ds, "purchase"), range(2))
    assert [f.key for f in first[1]] == [f.key for f in second[1]] and first[1]


def test_hostile_column_names_and_nulls_on_postgres_equal_duckdb(postgres_server, make_dataset):
    import psycopg

    frame = hostile_frame()
    want_ds = make_dataset(frame, **hostile_roles())
    names = [quote_ident(c) for c in frame.columns]
    with psycopg.connect(postgres_server.url, password=postgres_server.password, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS hostile")
        conn.execute(f"CREATE TABLE hostile ({names[0]} text, {names[1]} timestamp, {names[2]} text, {names[3]} text, "
                     f"{names[4]} double precision)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO hostile VALUES (%s, %s, %s, %s, %s)",
                            [tuple(None if v is None or v != v else v for v in row)
                             for row in frame.itertuples(index=False)])
    engine = PostgresEngine(postgres_server.url, {"password": postgres_server.password})
    try:
        got_ds = open_engine_source(postgres_server.url, table="hostile", engine=engine).with_roles(**hostile_roles())
        check_hostile(got_ds, want_ds)
    finally:
        engine.close()


class _CountingEngine(PostgresEngine):
    """The real engine, keeping the number of rows each query brought back to Python."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows_back: list[int] = []

    def query(self, sql: str) -> list[tuple]:
        rows = super().query(sql)
        self.rows_back.append(len(rows))
        return rows


def test_only_aggregates_come_back_from_postgres(postgres_server):
    engine = _CountingEngine(postgres_server.url, {"password": postgres_server.password})
    try:
        ds = open_engine_source(postgres_server.url, table="shop_events", engine=engine)
        profile(ds)
        segment_tests(ds, "purchase")
        analyze_funnel(ds, FunnelSpec(FUNNEL, by="device"))
        analyze_experiment(ds, ExperimentSpec(metrics=("purchase",), exposure_event="experiment_exposure"))
    finally:
        engine.close()
    # 537,243 events and 50,000 units stay on the server: the largest answer is one row per day or segment
    assert len(engine.rows_back) > 20 and max(engine.rows_back) <= 100 and sum(engine.rows_back) < 2_000
