"""Benchmark: the funnel and the insights pipeline on DuckDB, PostgreSQL and Spark (local mode), same run.

    python bench/bench_engines.py [--engines duckdb,postgres,spark] [--runs 2] [--skip-insights]

Data: the 10M-event funnel log of ``bench_funnel.py`` (1M units) and the 10.7M-event, 8-dimension log of
``bench_insights.py``, generated into bench/data/ when missing. DuckDB loads each file with the ordinary
loader. PostgreSQL: a throwaway cluster started here (127.0.0.1 only, in a temporary folder), each file
loaded with a server-side ``COPY`` from a CSV that DuckDB writes; ``ANALYZE`` after. Spark: the process's
local session (``local[2]``) reads the Parquet files as temporary views (a data-lake table; nothing cached).
On every engine the same core SQL runs (translated for PostgreSQL and Spark) and only aggregates come back.

Times: preparing the source (load / registration and role inference), the funnel's units per step (the
4-step 7-day sequential funnel), the full funnel analysis, and ``find_insights`` (north star ``purchase``,
the bundled initiative docs), each the median of ``--runs``, with its ratio to DuckDB's time in the same run.
The script exits non-zero when an engine's funnel counts differ from DuckDB's, and says whether its top-5
findings are DuckDB's (on a log this large DuckDB suggests the funnel from a hashed subset of units, the
other engines from all of them, so the suggested funnel and its findings may differ).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_funnel import STEPS, WINDOW  # noqa: E402
from bench_funnel import generate as generate_funnel  # noqa: E402
from bench_insights import build as build_insights  # noqa: E402

from insights import Dataset, FunnelSpec, analyze_funnel, find_insights, load_file  # noqa: E402
from insights.funnel_sql import build_funnel_sql  # noqa: E402
from insights.warehouse import open_engine_source  # noqa: E402
from tests.engine_servers import _as_owner, _free_port, _pg_bin  # noqa: E402

DATA = ROOT / "bench" / "data"
FUNNEL_FILE = DATA / "events_10000000_1000000.parquet"
INSIGHTS_FILE = DATA / "insights_1000000.parquet"
DOCS = ROOT / "sample_data" / "initiatives"
DIMS = ("country", "device", "channel", "plan", "os", "app_version", "language", "age_band")
PASSWORD = "insights-bench"
PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "VARCHAR": "text", "DOUBLE": "double precision",
            "TIMESTAMP": "timestamp", "DATE": "date", "BOOLEAN": "boolean", "FLOAT": "real"}


def median_time(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A PostgreSQL cluster for this run only; yields its URL (password in PGPASSWORD)."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="insights-bench-pg-"))
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                              "--auth=scram-sha-256", f"--pwfile={pwfile}", "--locale=C", "--encoding=UTF8"]),
                   check=True, capture_output=True)
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=2GB -c work_mem=256MB -c max_parallel_workers_per_gather=2")
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-o", opts, "-l",
                              str(root / "log"), "-w", "start"]), check=True, capture_output=True)
    os.environ["PGPASSWORD"] = PASSWORD
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def load_postgres(url: str, path: Path, table: str) -> None:
    """``path`` as ``table``: DuckDB writes a CSV that the server reads with COPY."""
    import psycopg

    con = duckdb.connect()
    columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / f"{table}.csv"
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{csv}' (HEADER, DELIMITER ',')")
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres", "postgres")
            shutil.chown(csv, "postgres", "postgres")
        cols = ", ".join(f'"{n}" {PG_TYPES[str(t)]}' for n, t, *_ in columns)
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"DROP TABLE IF EXISTS {table}")
            pg.execute(f"CREATE TABLE {table} ({cols})")
            pg.execute(f"COPY {table} FROM '{csv}' (FORMAT csv, HEADER true)")
            pg.execute(f"ANALYZE {table}")


def measure(name: str, prepare: Callable[[], tuple[Dataset, Dataset]], runs: int, insights: bool) -> dict:
    """Times on one engine; ``prepare`` returns the funnel and insights datasets."""
    started = time.perf_counter()
    funnel_ds, insights_ds = prepare()
    out: dict = {"engine": name, "prepare": time.perf_counter() - started}
    sql, params = build_funnel_sql(funnel_ds, STEPS, WINDOW)
    out["units per step"], rows = median_time(runs, lambda: funnel_ds.query(sql, params))
    row = rows[0]  # type: ignore[index]
    out["counts"] = [int(row[0])] + [int(row[1 + 3 * j]) for j in range(len(STEPS) - 1)]
    spec = FunnelSpec(STEPS, WINDOW, compare_variants=False)
    out["full funnel"], _ = median_time(runs, lambda: analyze_funnel(funnel_ds, spec))
    if insights:
        out["insights"], result = median_time(runs, lambda: find_insights(insights_ds, "purchase", docs=DOCS))
        out["top5"] = [f.key for f in result.insights]  # type: ignore[attr-defined]
    print(f"  {name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in out.items() if isinstance(v, float)), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-insights", action="store_true")
    args = parser.parse_args()
    engines = args.engines.split(",")
    insights = not args.skip_insights
    if not FUNNEL_FILE.exists():
        generate_funnel(FUNNEL_FILE, 10_000_000, 1_000_000)
    if insights and not INSIGHTS_FILE.exists():
        build_insights(1_000_000, INSIGHTS_FILE)
    print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    results = []

    def duck() -> tuple[Dataset, Dataset]:
        return load_file(FUNNEL_FILE), load_file(INSIGHTS_FILE).with_roles(dimensions=DIMS)

    results.append(measure("DuckDB", duck, args.runs, insights))
    if "postgres" in engines:
        with postgres_cluster() as url:
            def pg() -> tuple[Dataset, Dataset]:
                load_postgres(url, FUNNEL_FILE, "bench_funnel_events")
                funnel_ds = open_engine_source(url, table="bench_funnel_events")
                if not insights:
                    return funnel_ds, funnel_ds
                load_postgres(url, INSIGHTS_FILE, "bench_insights_events")
                return funnel_ds, open_engine_source(url, table="bench_insights_events").with_roles(dimensions=DIMS)

            results.append(measure("PostgreSQL", pg, args.runs, insights))
    if "spark" in engines:
        os.environ.setdefault("INSIGHTS_SPARK_CONF", "spark.driver.memory=8g")

        def spark() -> tuple[Dataset, Dataset]:
            from insights.engines_spark import spark_session

            session = spark_session()
            session.read.parquet(str(FUNNEL_FILE)).createOrReplaceTempView("bench_funnel_events")
            session.read.parquet(str(INSIGHTS_FILE)).createOrReplaceTempView("bench_insights_events")
            funnel_ds = open_engine_source("spark", table="bench_funnel_events")
            if not insights:
                return funnel_ds, funnel_ds
            return funnel_ds, open_engine_source("spark", table="bench_insights_events").with_roles(dimensions=DIMS)

        results.append(measure("Spark local[2]", spark, args.runs, insights))
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    base = results[0]
    keys = ["prepare", "units per step", "full funnel"] + (["insights"] if insights else [])
    print("| engine | " + " | ".join(keys) + " |")
    print("| --- |" + " --- |" * len(keys))
    for r in results:
        cells = [f"{r[k]:.2f} s ({r[k] / base[k]:.1f}x)" for k in keys]
        print(f"| {r['engine']} | " + " | ".join(cells) + " |")
    same = all(r["counts"] == base["counts"] for r in results)
    print(f"funnel counts {base['counts']}; the same on every engine: {same}")
    if insights:
        # DuckDB suggests the funnel from a hashed subset of units on logs this large; the others count them all
        print("top-5 findings the same as DuckDB's: " + ", ".join(f"{r['engine']} {r['top5'] == base['top5']}"
                                                                for r in results[1:]))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
