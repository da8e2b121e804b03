"""Run every benchmark in bench/ in turn (each prints its own medians and ratios)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_funnel.py", "bench_experiment.py", "bench_insights.py", "bench_memory.py", "bench_ui.py")


def main() -> int:
    failed = []
    for name in SCRIPTS:
        if not (HERE / name).exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
