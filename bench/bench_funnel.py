"""Benchmark: a 4-step 7-day sequential funnel on 10M events / 1M units against its baselines.

    python bench/bench_funnel.py [--runs 5] [--events 10000000] [--units 1000000]

Writes the seeded event log once to bench/data/ (gitignored), then times, in the same process and run, in
interleaved rounds: a bare DuckDB ``GROUP BY unit`` scan (the floor), our funnel (the levels alone, which is
what windowFunnel returns; per-step units with time to convert; the full analysis with histogram and trend)
and chdb's ``windowFunnel`` over the same Parquet file; then a straightforward pandas implementation. Prints
medians, ratios to the floor and to chdb (also per round) and peak RSS, and checks that every implementation
gives the same number of units per level.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from insights import FunnelSpec, analyze_funnel, load_file  # noqa: E402
from insights.funnel_sql import build_funnel_sql, build_levels_sql  # noqa: E402

EVENTS = ("home", "search", "view_item", "add_to_cart", "checkout", "purchase", "other")
SHARES = (0.30, 0.22, 0.20, 0.12, 0.08, 0.05, 0.03)
STEPS = ("home", "search", "add_to_cart", "purchase")
WINDOW = 7 * 86_400
T0 = 1_767_225_600  # 2026-01-01


def generate(path: Path, n_events: int, n_units: int, seed: int = 42) -> None:
    """Units start over 60 days; their events follow at exponential delays (mean 3 days), in random order."""
    rng = np.random.default_rng(seed)
    unit = np.sort(rng.integers(0, n_units, n_events))
    start = rng.integers(0, 60 * 86_400, n_units)
    ts_ms = (T0 + start[unit] + rng.exponential(3 * 86_400, n_events).astype(np.int64)) * 1000
    event = rng.choice(len(EVENTS), n_events, p=SHARES).astype(np.int8)
    order = rng.permutation(n_events)
    table = pa.table({
        "user_id": unit[order],
        "ts": pa.array(ts_ms[order], pa.timestamp("ms")),
        "event": pa.DictionaryArray.from_arrays(event[order], pa.array(EVENTS)).cast(pa.string()),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def pandas_levels(path: Path) -> pd.Series:
    """ClickHouse windowFunnel semantics with pandas: sort by (unit, time, step), one cumulative max per level."""
    df = pd.read_parquet(path, columns=["user_id", "ts", "event"])
    df = df[df["event"].isin(STEPS)]
    df = pd.DataFrame({"u": df["user_id"].to_numpy(), "t": df["ts"].to_numpy().astype("datetime64[s]").astype(np.int64),
                       "k": df["event"].map({s: i for i, s in enumerate(STEPS)}).to_numpy()})
    df = df.sort_values(["u", "t", "k"], kind="stable", ignore_index=True)
    level = np.where(df["k"].to_numpy() == 0, 1, 0)
    start = pd.Series(np.where(df["k"] == 0, df["t"], -np.inf))
    for j in range(1, len(STEPS)):
        latest = start.groupby(df["u"]).cummax()
        reached = (df["k"].to_numpy() == j) & (df["t"].to_numpy() <= latest.to_numpy() + WINDOW)
        level = np.where(reached, j + 1, level)
        start = pd.Series(np.where(reached, latest, -np.inf))
    levels = pd.Series(level).groupby(df["u"]).max()
    return levels[levels > 0].value_counts().sort_index()


def chdb_levels(path: Path) -> pd.Series:
    import chdb

    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    sql = (f"SELECT level, count() AS n FROM (SELECT user_id, windowFunnel({WINDOW})(toDateTime(ts), {conds}) AS level "
           f"FROM file('{path}', Parquet) GROUP BY user_id) WHERE level > 0 GROUP BY level ORDER BY level")
    rows = [line.split(",") for line in chdb.query(sql, "CSV").data().strip().splitlines()]
    return pd.Series({int(a): int(b) for a, b in rows})


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads: DuckDB and chdb both run in-process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}


def timed(runs: int, fn: Callable[[], object], name: str = "") -> tuple[float, object]:
    """Median wall seconds of ``runs`` calls (the median CPU seconds go to ``CPU[name]``) and the last result."""
    times, cpus, out = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), cpu_seconds()
        out = fn()
        times.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    CPU[name] = statistics.median(cpus)
    return statistics.median(times), out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--units", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    path = ROOT / "bench" / "data" / f"events_{args.events}_{args.units}.parquet"
    if not path.exists():
        generate(path, args.events, args.units)
    ds = load_file(path)
    spec = FunnelSpec(STEPS, WINDOW, compare_variants=False)
    sql, params = build_funnel_sql(ds, STEPS, WINDOW)
    levels, level_params = build_levels_sql(ds, STEPS, WINDOW)
    reached = ", ".join(f"count(*) FILTER (WHERE level >= {k})" for k in range(1, len(STEPS) + 1))
    levels_sql = f"WITH levels AS ({levels}) SELECT {reached} FROM levels"  # what windowFunnel returns
    floor_sql = f"SELECT count(*) FROM (SELECT user_id, count(*) FROM {ds.table_sql} GROUP BY user_id)"
    floor_name, chdb_name = "floor: DuckDB GROUP BY unit", "chdb windowFunnel (Parquet)"
    jobs: dict[str, Callable[[], object]] = {
        floor_name: lambda: ds.query(floor_sql),
        "funnel: levels only": lambda: ds.query(levels_sql, level_params),
        "funnel: units per step": lambda: ds.query(sql, params),
        "funnel: full analysis": lambda: analyze_funnel(ds, spec),
    }
    for job in jobs.values():  # warm-up, and our peak memory before chdb and pandas run in this process
        job()
    rss_ours = peak_rss_mb()
    jobs[chdb_name] = lambda: chdb_levels(path)
    # Rounds interleave the implementations, so that a change of the machine's load hits all of them alike.
    walls: dict[str, list[float]] = {name: [] for name in jobs}
    cpus: dict[str, list[float]] = {name: [] for name in jobs}
    last: dict[str, object] = {}
    for _ in range(args.runs):
        for name, job in jobs.items():
            started, cpu = time.perf_counter(), cpu_seconds()
            last[name] = job()
            walls[name].append(time.perf_counter() - started)
            cpus[name].append(cpu_seconds() - cpu)
    results = {name: statistics.median(w) for name, w in walls.items()}
    CPU.update({name: statistics.median(c) for name, c in cpus.items()})
    ours, ch = last["funnel: units per step"], last[chdb_name]
    per_round = {name: [a / b for a, b in zip(walls[name], walls[chdb_name], strict=True)]
                 for name in ("funnel: levels only", "funnel: units per step")}
    results["pandas"], pdl = timed(max(1, args.runs // 2), lambda: pandas_levels(path), "pandas")
    row = ours[0]  # type: ignore[index]
    per_step = [int(row[0])] + [int(row[1 + 3 * j]) for j in range(len(STEPS) - 1)]
    at_least = [int(ch[ch.index >= j].sum()) for j in range(1, len(STEPS) + 1)]  # type: ignore[union-attr]
    at_least_pd = [int(pdl[pdl.index >= j].sum()) for j in range(1, len(STEPS) + 1)]  # type: ignore[union-attr]
    floor = results["floor: DuckDB GROUP BY unit"]
    print(f"{args.events:,} events, {args.units:,} units, steps {' -> '.join(STEPS)}, window 7d, "
          f"median of {args.runs} interleaved rounds (pandas: {max(1, args.runs // 2)} runs)")
    for name, seconds in results.items():
        print(f"  {name:<32} {seconds:7.3f} s   {seconds / floor:5.2f}x floor   CPU {CPU[name]:6.2f} s")
    chdb_s, chdb_cpu = results["chdb windowFunnel (Parquet)"], CPU["chdb windowFunnel (Parquet)"]
    ours_names = ("funnel: levels only", "funnel: units per step", "funnel: full analysis")
    print(f"  funnel / chdb (levels only, units per step, full analysis), wall: "
          f"{', '.join(f'{results[n] / chdb_s:.2f}' for n in ours_names)}; CPU: "
          f"{', '.join(f'{CPU[n] / chdb_cpu:.2f}' for n in ours_names)}")
    for name, ratios in per_round.items():
        print(f"  {name.removeprefix('funnel: ')} / chdb in each round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"  peak RSS after our funnel runs: {rss_ours:,.0f} MB; after all: {peak_rss_mb():,.0f} MB")
    print(f"  units per step: ours {per_step}, chdb {at_least}, pandas {at_least_pd}")
    levels_only = [int(x) for x in last["funnel: levels only"][0]]  # type: ignore[index]
    return 0 if per_step == levels_only == at_least == at_least_pd else 1


if __name__ == "__main__":
    raise SystemExit(main())
