"""Real engines for the parity tests: a throwaway PostgreSQL cluster and a local Spark session.

Nothing is mocked and nothing is skipped: when PostgreSQL or Java is not installed the fixture fails with one
line saying what to install (``.ci/run`` installs both on a fresh Debian machine).
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SAMPLE

PG_PASSWORD = "insights-test"
PG_TABLE_SQL = ("CREATE TABLE shop_events (user_id text, event_time timestamp, event text, revenue double precision, "
                "variant text, country text, device text, channel text, plan text, signup_week date)")


@dataclass(frozen=True)
class PostgresServer:
    url: str  # without the password: it comes from secrets or PGPASSWORD
    password: str
    load_seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("PostgreSQL is not installed: apt-get install postgresql (the tests start their own server)",
                pytrace=False)


def _as_owner(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres OS user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:6])} failed: {(done.stderr or done.stdout).strip()[:300]}", pytrace=False)


def _load_sample(url: str, password: str) -> None:
    """The bundled sample, every row in file order, via COPY from a CSV that DuckDB writes."""
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "events.csv"
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{SAMPLE}')) TO '{csv}' (HEADER, DELIMITER ',')")
        with psycopg.connect(url, password=password, autocommit=True) as conn:
            conn.execute(PG_TABLE_SQL)
            with conn.cursor() as cur, cur.copy("COPY shop_events FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                    open(csv, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            conn.execute("ANALYZE shop_events")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1 only, holding the sample as ``shop_events``."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="insights-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    port = _free_port()
    _run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "--locale=C", "--encoding=UTF8"]))
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=256MB -c max_parallel_workers_per_gather=0")
    _run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]))
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        started = time.perf_counter()
        _load_sample(url, PG_PASSWORD)
        yield PostgresServer(url, PG_PASSWORD, time.perf_counter() - started)
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_events() -> str:
    """The sample registered in the process's local Spark session as the temporary view ``shop_events``."""
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.fail("Java is not installed: apt-get install default-jre-headless (Spark needs Java 17+)",
                    pytrace=False)
    from insights.engines_spark import spark_session

    spark = spark_session()
    spark.read.parquet(str(SAMPLE)).createOrReplaceTempView("shop_events")
    return "shop_events"


def assert_same(got: object, want: object, where: str = "result", rel: float = 1e-9,
                skip: tuple[str, ...] = ("sql", "source")) -> None:
    """``got`` (another engine) equals ``want`` (DuckDB on the same rows): counts, text and times exactly,
    floats to ``rel`` relative (1e-12 absolute for values that cancel to about zero), NaN equal to NaN."""
    if dataclasses.is_dataclass(want) and not isinstance(want, type):
        assert type(got) is type(want), where
        for f in dataclasses.fields(want):
            if f.name not in skip:
                assert_same(getattr(got, f.name), getattr(want, f.name), f"{where}.{f.name}", rel, skip)
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]", rel, skip)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{where}: {got!r} != {want!r}"
        for k in want:
            assert_same(got[k], want[k], f"{where}[{k!r}]", rel, skip)
    elif isinstance(want, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        if math.isnan(want):
            assert math.isnan(got), f"{where}: {got!r} != nan"
        else:
            assert math.isclose(got, want, rel_tol=rel, abs_tol=1e-12), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want and type(got) is type(want), f"{where}: {got!r} ({type(got).__name__}) != {want!r}"


# One query per rewrite in insights.dialects, in DuckDB SQL over the events ({t}); each must return on the other
# engine exactly what DuckDB returns. The ordering key below is unique per (time, event): the event names of the
# sample all differ in length, so arg_min/arg_max have no ties to break.
_KEY = "(epoch_us(event_time) * 100 + length(event))"
REWRITES = {
    "arg_min_arg_max": f"SELECT count(*), count(f), count(r), sum(r), min(f), max(l), sum(p), count(n) FROM ("
                       f"SELECT user_id, arg_min(event, {_KEY}) AS f, arg_min(revenue, {_KEY}) AS r, "
                       f"arg_max(event, {_KEY}) AS l, arg_max(revenue, {_KEY}) FILTER (WHERE event = 'purchase') AS p, "
                       f"arg_min_null(revenue, {_KEY}) AS n FROM {{t}} GROUP BY user_id)",
    "epoch_us": "SELECT sum(epoch_us(event_time) % 1000003), min(epoch_us(event_time)), max(epoch_us(event_time)) "
                "FROM {t}",
    "make_timestamp": "SELECT min(make_timestamp(epoch_us(event_time) + 123457)), "
                      "max(make_timestamp(epoch_us(event_time) - 1)) FROM {t}",
    "epoch_ms": "SELECT epoch_ms(CAST(1788739236123 AS BIGINT))",
    "quantiles": "SELECT quantile_cont(revenue, [0.25, 0.5, 0.75]), median(revenue), quantile_cont(revenue, 0.9), "
                 "median(epoch_us(event_time) % 977) FROM {t}",
    "group_by_all": "SELECT device, event, count(*) FROM {t} GROUP BY ALL ORDER BY 1, 2",
    "count_filter": "SELECT count(*) FILTER (WHERE event = 'purchase'), count(*) FILTER (WHERE revenue > 50), "
                    "sum(revenue) FILTER (WHERE device = 'mobile') FROM {t}",
    "date_diff_day": "SELECT date_diff('day', min(event_time), max(event_time)), "
                     "sum(date_diff('day', CAST(signup_week AS TIMESTAMP), event_time)) FROM {t}",
    "to_seconds": "SELECT count(*) FROM {t} WHERE event_time <= TIMESTAMP '2026-09-10 00:00:00' + to_seconds(3600.5)",
    "unaliased_subquery": "SELECT count(*) FROM (SELECT DISTINCT user_id FROM {t}) JOIN (SELECT 1 AS one) ON true",
    "materialized_cte": "WITH b AS MATERIALIZED (SELECT user_id FROM {t} WHERE event = 'purchase') "
                        "SELECT count(DISTINCT user_id) FROM b",
    "hash": "SELECT count(*), sum(n) FROM (SELECT hash(user_id, event_time) AS h, count(*) AS n FROM {t} "
            "GROUP BY h HAVING count(*) > 1)",
    "division_and_casts": "SELECT count(*) FILTER (WHERE event = 'purchase') / count(*), "
                          "CAST(min(event_time) AS VARCHAR), CAST(max(revenue) AS VARCHAR), min(revenue)::DOUBLE "
                          "FROM {t}",
}


def check_rewrite(name: str, engine_ds: object, duck_ds: object) -> None:
    sql = REWRITES[name]
    want = duck_ds.query(sql.format(t=duck_ds.table_sql))  # type: ignore[attr-defined]
    got = engine_ds.query(sql.format(t=engine_ds.table_sql))  # type: ignore[attr-defined]
    assert_same(got, want, name)


# Column names that need quoting in every dialect (quotes, backticks, spaces, non-ASCII), with NULLs in a dimension
# and a metric: the identifiers must survive translation and the NULL rules must hold on every engine.
HOSTILE = {"unit": 'user "id"', "time": "at time", "event": "what`s done", "dim": "dév ice", "metric": "rev €"}


def hostile_frame(seed: int = 7, n_rows: int = 3000):  # noqa: ANN201 - pandas frame
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2026-03-01")
    return pd.DataFrame({
        HOSTILE["unit"]: [f"u{i:03d}" for i in rng.integers(0, 300, n_rows)],
        HOSTILE["time"]: [base + pd.Timedelta(seconds=int(s)) for s in rng.integers(0, 10 * 86_400, n_rows)],
        HOSTILE["event"]: rng.choice(["a", "b", "c"], n_rows, p=[0.5, 0.3, 0.2]),
        HOSTILE["dim"]: rng.choice(["x", "y", None], n_rows, p=[0.5, 0.3, 0.2]),
        HOSTILE["metric"]: np.where(rng.random(n_rows) < 0.3, np.round(rng.random(n_rows) * 100, 2), np.nan),
    })


def hostile_roles() -> dict[str, object]:
    return {"unit": HOSTILE["unit"], "time": HOSTILE["time"], "event": HOSTILE["event"],
            "dimensions": (HOSTILE["dim"],), "metrics": (HOSTILE["metric"],)}


def check_hostile(got_ds: object, want_ds: object) -> None:
    """Profile, segment tests and a funnel by the hostile dimension on an engine equal DuckDB's (see HOSTILE)."""
    from insights import FunnelSpec, analyze_funnel, profile, segment_tests

    assert_same(profile(got_ds), profile(want_ds))  # type: ignore[arg-type]
    got, want = segment_tests(got_ds, "c")[1], segment_tests(want_ds, "c")[1]  # type: ignore[arg-type]
    # a fifth of the units start with a NULL dimension: their first-touch value is their first non-NULL one
    assert len(want) == 2
    assert_same(sorted(got, key=lambda f: f.key), sorted(want, key=lambda f: f.key))
    spec = FunnelSpec(("a", "b", "c"), window_seconds=2 * 86_400, by=HOSTILE["dim"])
    assert_same(analyze_funnel(got_ds, spec), analyze_funnel(want_ds, spec))  # type: ignore[arg-type]
