"""Unit-by-unit funnel levels against outside references.

Sequential mode is compared with ClickHouse's own ``windowFunnel`` (default mode), run offline by the chdb
package on the same random logs; strict and any-order modes with plain-Python references written
independently of the SQL (they enumerate every start and walk forward).
"""

from __future__ import annotations

import chdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.funnel import FunnelSpec, unit_levels

EVENTS = ["a", "b", "c", "x"]
BASE = 1_700_000_000

logs = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 40), st.sampled_from(EVENTS)), min_size=1, max_size=60
)
funnel_steps = st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=4)
windows = st.integers(1, 25)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


PADDING = [(99, 0, "a"), (99, 0, "b"), (99, 0, "c")]  # every step name exists in every log


def frame(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    rows = rows + PADDING
    return pd.DataFrame({"user_id": [r[0] for r in rows], "ts": [BASE + r[1] for r in rows],
                         "event": [r[2] for r in rows]})


def levels_of(make_dataset, rows, steps, window, mode) -> dict[int, int]:
    ds = make_dataset(frame(rows), unit="user_id", time="ts", event="event")
    got = unit_levels(ds, FunnelSpec(tuple(steps), window_seconds=window, mode=mode))
    return {int(u): int(lv) for u, lv in zip(got["unit"], got["level"], strict=True)}


def chdb_levels(rows, steps, window) -> dict[int, int]:
    values = ", ".join(f"({u}, {BASE + t}, '{e}')" for u, t, e in rows + PADDING)
    conds = ", ".join(f"e = '{s}'" for s in steps)
    sql = (f"SELECT u, windowFunnel({window})(toDateTime(t), {conds}) AS level FROM "
           f"(SELECT * FROM values('u UInt32, t UInt32, e String', {values})) GROUP BY u ORDER BY u")
    out = chdb.query(sql, "CSV").data()
    pairs = (line.split(",") for line in out.strip().splitlines())
    return {int(u): int(lv) for u, lv in pairs if int(lv) > 0}


@SETTINGS
@given(rows=logs, steps=funnel_steps, window=windows)
def test_sequential_levels_equal_clickhouse_window_funnel(make_dataset, rows, steps, window):
    assert levels_of(make_dataset, rows, steps, window, "sequential") == chdb_levels(rows, steps, window)


def _ordered(rows, steps):
    """A unit's rows ordered by time, then by the first step they match (other events last)."""
    def key(r):
        return (r[1], steps.index(r[2]) if r[2] in steps else len(steps))
    return sorted(rows, key=key)


def strict_reference(rows, steps, window) -> dict[int, int]:
    out: dict[int, int] = {}
    rows = rows + PADDING
    for unit in {r[0] for r in rows}:
        seq = _ordered([r for r in rows if r[0] == unit], steps)
        best = 0
        for i, (_, t0, e0) in enumerate(seq):
            if e0 != steps[0]:
                continue
            level = 1
            while (level < len(steps) and i + level < len(seq) and seq[i + level][2] == steps[level]
                   and seq[i + level][1] <= t0 + window):
                level += 1
            best = max(best, level)
        if best:
            out[unit] = best
    return out


def any_reference(rows, steps, window) -> dict[int, int]:
    out: dict[int, int] = {}
    rows = rows + PADDING
    for unit in {r[0] for r in rows}:
        mine = [r for r in rows if r[0] == unit]
        best = 0
        for _, start, _ in mine:
            inside = {e for _, t, e in mine if start <= t <= start + window}
            level = 0
            while level < len(steps) and steps[level] in inside:
                level += 1
            best = max(best, level)
        if best:
            out[unit] = best
    return out


@SETTINGS
@given(rows=logs, steps=funnel_steps, window=windows)
def test_strict_levels_equal_consecutive_walk_reference(make_dataset, rows, steps, window):
    assert levels_of(make_dataset, rows, steps, window, "strict") == strict_reference(rows, steps, window)


@SETTINGS
@given(rows=logs, steps=funnel_steps, window=windows)
def test_any_order_levels_equal_sliding_window_reference(make_dataset, rows, steps, window):
    assert levels_of(make_dataset, rows, steps, window, "any") == any_reference(rows, steps, window)


def test_same_timestamp_events_count_in_step_order(make_dataset):
    rows = [(1, 5, "b"), (1, 5, "a"), (1, 5, "c"), (2, 5, "c"), (2, 5, "a")]
    got = levels_of(make_dataset, rows, ["a", "b", "c"], 10, "sequential")
    assert got == {1: 3, 2: 1, 99: 3} == chdb_levels(rows, ["a", "b", "c"], 10)


def test_window_is_inclusive_and_measured_from_the_first_step(make_dataset):
    rows = [(1, 0, "a"), (1, 6, "b"), (1, 10, "c"), (2, 0, "a"), (2, 6, "b"), (2, 11, "c")]
    assert levels_of(make_dataset, rows, ["a", "b", "c"], 10, "sequential") == {1: 3, 2: 2, 99: 3}


def test_strict_mode_stops_at_other_event(make_dataset):
    rows = [(1, 0, "a"), (1, 1, "x"), (1, 2, "b"), (2, 0, "a"), (2, 2, "b")]
    assert levels_of(make_dataset, rows, ["a", "b"], 10, "strict") == {1: 1, 2: 2, 99: 2}
    assert levels_of(make_dataset, rows, ["a", "b"], 10, "sequential") == {1: 2, 2: 2, 99: 2}
