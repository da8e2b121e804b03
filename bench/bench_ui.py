"""Benchmark: start and interaction speed of the real app in headless Chromium.

    python bench/bench_ui.py [--runs 3] [--switches 5]

Start: with Chromium already open, time from launching ``streamlit run app.py`` (process start) to the first
rendered insight cards on the bundled sample (five "Why it ranked" captions and five charts with their SVG or
canvas), each run in a fresh server process (cold caches). Interaction: on the Funnel page, with the suggested
steps, switch the window unit between days and minutes; after both values have been computed once, every
switch is a cache hit, timed from the option click to the funnel chart showing that window's bars. Prints the
medians with the load average (``uptime``) before and after; the aims are under 3 s and under 0.5 s. Each start
is paired with the start of a one-line Streamlit app in the same browser: the floor of any start on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import browser_page, running_app  # noqa: E402

TIMEOUT_MS = 300_000
CARDS = 5
START_AIM_S, INTERACTION_AIM_S = 3.0, 0.5
BARE_TEXT = "A one-line Streamlit app"
LABELS_JS = """() => [...document.querySelectorAll("[data-testid=stVegaLiteChart] [aria-label^='step: ']")]
                     .map(e => e.getAttribute('aria-label')).join('|')"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def time_start(page) -> float:  # noqa: ANN001 - a playwright Page
    """Seconds from ``streamlit run`` to the first five rendered insight cards, in a fresh server."""
    t0 = time.monotonic()
    with running_app(timeout=TIMEOUT_MS / 1000) as url:
        page.goto(url)
        page.get_by_text("Why it ranked").nth(CARDS - 1).wait_for(timeout=TIMEOUT_MS)
        page.locator("[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas").nth(
            CARDS - 1).wait_for(timeout=TIMEOUT_MS)
        elapsed = time.monotonic() - t0
        page.goto("about:blank")
    return elapsed


def time_bare_start(page, script: Path) -> float:  # noqa: ANN001 - a playwright Page
    """The floor: seconds from ``streamlit run`` of a one-line app to its text in the page, same browser."""
    t0 = time.monotonic()
    with running_app(timeout=TIMEOUT_MS / 1000, script=script) as url:
        page.goto(url)
        page.get_by_text(BARE_TEXT).wait_for(timeout=TIMEOUT_MS)
        elapsed = time.monotonic() - t0
        page.goto("about:blank")
    return elapsed


def switch_unit(page, unit: str, previous: str) -> str:  # noqa: ANN001
    """Pick the funnel window unit and wait until the chart's bars differ from ``previous``; return them."""
    page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text("Unit", exact=True)).click()
    page.get_by_role("option", name=unit, exact=True).click()
    page.wait_for_function(f"([old]) => {{ const now = ({LABELS_JS})(); return now !== '' && now !== old; }}",
                           arg=[previous], timeout=TIMEOUT_MS)
    return page.evaluate(LABELS_JS)


def time_interactions(page, switches: int) -> list[float]:  # noqa: ANN001
    """Seconds per cached funnel-window switch (days <-> minutes, both already computed)."""
    with running_app(timeout=TIMEOUT_MS / 1000) as url:
        page.goto(f"{url}/funnel")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Funnel", exact=True).click(timeout=TIMEOUT_MS)
        page.wait_for_function(f"() => ({LABELS_JS})() !== ''", timeout=TIMEOUT_MS)
        labels = {"days": page.evaluate(LABELS_JS)}
        labels["minutes"] = switch_unit(page, "minutes", labels["days"])  # computed: not timed
        if labels["minutes"] == labels["days"]:
            raise SystemExit("the funnel does not change between a 7-day and a 7-minute window")
        times, unit = [], "days"
        for _ in range(switches):
            other = "minutes" if unit == "days" else "days"
            page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(state="attached")
            t0 = time.monotonic()
            shown = switch_unit(page, unit, labels[other])
            times.append(time.monotonic() - t0)
            assert shown == labels[unit], "a cached switch showed other numbers than the first computation"
            unit = other
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts to time")
    parser.add_argument("--switches", type=int, default=5, help="cached funnel-window switches to time")
    args = parser.parse_args()
    print(f"load before: {uptime()}", flush=True)
    with browser_page() as page, tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(f"import streamlit as st\n\nst.write({BARE_TEXT!r})\n")
        starts, floors = [], []
        for i in range(args.runs):
            floors.append(time_bare_start(page, bare))
            starts.append(time_start(page))
            print(f"start run {i + 1}: {starts[-1]:.2f} s (one-line app: {floors[-1]:.2f} s)", flush=True)
        switches = time_interactions(page, args.switches)
        print("cached switches: " + ", ".join(f"{t:.3f}" for t in switches) + " s", flush=True)
    start, switch, floor = statistics.median(starts), statistics.median(switches), statistics.median(floors)
    print(f"load after: {uptime()}")
    print(f"start to first insight cards: median {start:.2f} s of {len(starts)} (aim < {START_AIM_S} s: "
          f"{'met' if start < START_AIM_S else 'not met'})")
    print(f"one-line Streamlit app to its text (the floor of any start here): median {floor:.2f} s; "
          f"the app's start is {start / floor:.1f}x that")
    print(f"cached funnel-window change: median {switch:.3f} s of {len(switches)} (aim < {INTERACTION_AIM_S} s: "
          f"{'met' if switch < INTERACTION_AIM_S else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
