"""Benchmark: the full top-5 insights pipeline on about 10M events / 1M users with 8 dimensions.

Usage: ``python bench/bench_insights.py [--users N] [--repeat R]``. The Shoply generator
(sample_data/generate.py, seeded) writes the event log once into bench/data/, with four more user-level
dimensions (os, app_version, language, age_band) derived from the user id, so that the segment scan covers
8 dimensions (country, device, channel, plan + the four; signup_week is a date and is not scanned). The
script prints the median time of ``find_insights`` (north star ``purchase``, the bundled initiative docs, so
the launch comparison and the experiment breakdown run too) and its ratio to a bare DuckDB
``GROUP BY user_id`` scan of the same loaded table, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_experiment import bare_scan  # noqa: E402 - the same baseline: GROUP BY unit over the file

from insights import find_insights, load_file  # noqa: E402
from sample_data.generate import generate_table  # noqa: E402

DOCS = ROOT / "sample_data" / "initiatives"


def build(n_users: int, path: Path) -> None:
    """Write the event log with 8 user-level dimensions."""
    table = generate_table(n_users, 7)
    con = duckdb.connect()
    con.register("raw", table)
    con.execute(f"""COPY (SELECT *,
        ['ios', 'android', 'web'][1 + (hash(user_id) % 3)::BIGINT] AS os,
        'v' || (hash(user_id || 'v') % 6)::VARCHAR AS app_version,
        ['en', 'de', 'fr', 'es', 'pt', 'ja', 'hi'][1 + (hash(user_id || 'l') % 7)::BIGINT] AS language,
        ['18-24', '25-34', '35-44', '45-54', '55+'][1 + (hash(user_id || 'a') % 5)::BIGINT] AS age_band
        FROM raw) TO '{path}' (FORMAT parquet)""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = ROOT / "bench" / "data" / f"insights_{args.users}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        t = time.perf_counter()
        build(args.users, path)
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s")
    ds = load_file(path)
    dims = ("country", "device", "channel", "plan", "os", "app_version", "language", "age_band")
    ds = ds.with_roles(dimensions=dims)
    n_rows = ds.query(f"SELECT count(*) FROM {ds.table_sql}")[0][0]
    scans, runs, file_scans = [], [], []
    stages: list[tuple[float, str]] = []
    result = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        ds.query(f'SELECT count(*) FROM (SELECT "user_id", count(*) FROM {ds.table_sql} GROUP BY 1)')
        scans.append(time.perf_counter() - t)
        file_scans.append(bare_scan(path))
        stages.clear()
        t = time.perf_counter()
        result = find_insights(ds, "purchase", docs=DOCS,
                               progress=lambda _f, msg: stages.append((time.perf_counter(), msg)))
        runs.append(time.perf_counter() - t)
        stages.append((time.perf_counter(), "end"))
    scan, run = statistics.median(scans), statistics.median(runs)
    assert result is not None
    print(f"{n_rows:,} events, {args.users:,} users, {len(dims)} dimensions, {result.tests_run} tests")
    print(f"bare DuckDB GROUP BY unit scan: {scan:.2f} s (median of {args.repeat})")
    print(f"find_insights (top 5): {run:.2f} s (median of {args.repeat}), ratio {run / scan:.1f}x the scan")
    on_file = statistics.median(file_scans)
    print(f"the same GROUP BY unit on the Parquet file: {on_file:.2f} s (median of {args.repeat}); "
          f"find_insights is {run / on_file:.1f}x that")
    steps = zip(stages, stages[1:], strict=False)
    print("stages of the last run: " + "; ".join(f"{a[1]} {b[0] - a[0]:.2f} s" for a, b in steps))
    for i, f in enumerate(result.insights, 1):
        print(f"  {i}. {f.statement[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
