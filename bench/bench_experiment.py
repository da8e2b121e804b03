"""Benchmark: a 3-variant experiment on 10M events / 1M units, 5 metrics, a 10-value segment breakdown.

Usage: ``python bench/bench_experiment.py [--users N] [--repeat R]``. The event log is generated once (seeded,
vectorised) into bench/data/ and reused. The script prints the median time of ``analyze_experiment`` (CUPED,
sequential series, segment breakdown all on) and its ratio to a bare DuckDB ``GROUP BY unit`` scan of the
same file measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from insights import ExperimentSpec, analyze_experiment, load_file  # noqa: E402

EVENTS = np.array(["session_start", "view_item", "add_to_cart", "purchase"])
VARIANTS = np.array(["control", "treatment_a", "treatment_b"])
COUNTRIES = np.array(["US", "GB", "DE", "FR", "IN", "BR", "CA", "AU", "JP", "ES"])
METRICS = ("purchase", "add_to_cart", "count:view_item", "sum:revenue", "count:session_start")


def generate(n_users: int, seed: int, path: Path) -> int:
    """Write an event log of about ``10 * n_users`` events: one exposure per unit, activity before and after."""
    rng = np.random.default_rng(seed)
    variant = rng.integers(0, 3, n_users)
    country = rng.choice(10, n_users, p=[0.3, 0.12, 0.1, 0.1, 0.1, 0.08, 0.06, 0.06, 0.04, 0.04])
    habit = rng.gamma(2.0, 4.0, n_users)
    n_events = rng.poisson(habit) + 1  # mean about 9 activity events (8 + 1), plus the exposure below
    start = np.datetime64("2026-01-01T00:00:00") + rng.integers(0, 28 * 86400, n_users).astype("timedelta64[s]")
    users = np.repeat(np.arange(n_users), n_events)
    offsets = rng.integers(-7 * 86400, 14 * 86400, users.size).astype("timedelta64[s]")
    lift = np.array([1.0, 1.05, 1.10])[variant[users]]
    p = np.array([0.45, 0.35, 0.13, 0.07])
    p_user = np.tile(p, (users.size, 1))
    p_user[:, 3] *= np.where(offsets >= np.timedelta64(0, "s"), lift, 1.0)
    p_user /= p_user.sum(axis=1, keepdims=True)
    event_idx = (rng.random(users.size)[:, None] > np.cumsum(p_user, axis=1)).sum(axis=1)
    revenue = np.where(event_idx == 3, np.round(rng.lognormal(3.0, 0.8, users.size), 2), np.nan)
    all_users = np.concatenate([users, np.arange(n_users)])
    table = pa.table({
        "user_id": all_users.astype(np.int64),
        "event_time": np.concatenate([start[users] + offsets, start]),
        "event": np.concatenate([EVENTS[event_idx], np.full(n_users, "experiment_exposure")]),
        "revenue": np.concatenate([revenue, np.full(n_users, np.nan)]),
        "variant": VARIANTS[variant[all_users]],
        "country": COUNTRIES[country[all_users]],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=1_000_000)
    return table.num_rows


def bare_scan(path: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"SELECT count(*) FROM (SELECT user_id, count(*) FROM read_parquet('{path}') GROUP BY 1)").fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = ROOT / "bench" / "data" / f"experiment_3v_{args.users}.parquet"
    if not path.exists():
        started = time.perf_counter()
        rows = generate(args.users, 20260401, path)
        print(f"generated {rows:,} events in {time.perf_counter() - started:.1f} s -> {path}")
    started = time.perf_counter()
    ds = load_file(path).with_roles(unit="user_id", time="event_time", event="event", variant="variant",
                                    dimensions=("country",))
    print(f"load: {time.perf_counter() - started:.2f} s")
    spec = ExperimentSpec(metrics=METRICS, exposure_event="experiment_exposure", segment="country",
                          sequential=True, cap_percentile=0.99)
    runs, scans = [], []
    for _ in range(args.repeat):
        scans.append(bare_scan(path))
        started = time.perf_counter()
        result = analyze_experiment(ds, spec)
        runs.append(time.perf_counter() - started)
    t, s = statistics.median(runs), statistics.median(scans)
    n_events = ds.query(f"SELECT count(*) FROM {ds.table_sql}")[0][0]
    print(f"events {n_events:,}, units {result.health.n_units:,}, variants {len(result.variants)}, "
          f"metrics {len(METRICS)}, segments {len({s.segment for s in result.segments})}, "
          f"days {len({p.day for p in result.cumulative})}, cuped {result.cuped_available}")
    print(f"analyze_experiment median {t:.2f} s (runs {', '.join(f'{x:.2f}' for x in runs)})")
    print(f"bare DuckDB GROUP BY unit scan of the file median {s:.3f} s")
    print(f"ratio {t / s:.1f}x the scan")


if __name__ == "__main__":
    main()
