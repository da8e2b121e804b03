"""Benchmark: peak resident memory while loading and analysing about 10M events (1M users).

Usage: ``python bench/bench_memory.py [--users N]``. Uses the same 8-dimension event log as
bench_insights.py (written once into bench/data/). In one process: load the Parquet file with the real
loader (DuckDB memory limit from INSIGHTS_DUCKDB_MEMORY, default 1500MB, spilling to a temporary folder),
profile it, run a 4-step funnel with a device breakdown, the experiment on purchase, and the full top-5
insights pipeline. Prints the peak RSS after each stage (``ru_maxrss``) next to the 2 GB aim, and the
RSS of the bare interpreter with the libraries imported as the baseline.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_insights  # noqa: E402

from insights import (  # noqa: E402
    ExperimentSpec,
    FunnelSpec,
    analyze_experiment,
    analyze_funnel,
    find_insights,
    load_file,
    profile,
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    path = ROOT / "bench" / "data" / f"insights_{args.users}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        bench_insights.build(args.users, path)
    print(f"baseline (interpreter + libraries): peak RSS {peak_mb():,.0f} MB")
    stages = []
    t0 = time.perf_counter()
    ds = load_file(path, max_mb=10_000)
    stages.append(("load", time.perf_counter() - t0))
    print(f"after load: {ds.query('SELECT count(*) FROM events')[0][0]:,} events, peak RSS {peak_mb():,.0f} MB")
    for name, run in (
        ("profile", lambda: profile(ds)),
        ("funnel", lambda: analyze_funnel(ds, FunnelSpec(steps=("view_item", "add_to_cart", "begin_checkout",
                                                                  "purchase"), by="device"))),
        ("experiment", lambda: analyze_experiment(ds, ExperimentSpec(metrics=("purchase", "sum:revenue"),
                                                                     exposure_event="experiment_exposure",
                                                                     segment="device"))),
        ("insights", lambda: find_insights(ds, "purchase")),
    ):
        t0 = time.perf_counter()
        run()
        print(f"after {name} ({time.perf_counter() - t0:.1f} s): peak RSS {peak_mb():,.0f} MB")
    peak = peak_mb()
    print(f"peak RSS {peak:,.0f} MB; aim under 2,048 MB: {'met' if peak < 2048 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
