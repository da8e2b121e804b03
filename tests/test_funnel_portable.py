"""The portable sequential funnel (range joins, for engines without ASOF JOIN) equals the ASOF form.

Both forms run on DuckDB over the same random logs. Expected values come from two places: ClickHouse's own
``windowFunnel`` (through chdb) for the level of every unit, and DuckDB's ASOF form for the whole per-unit row
(level, entry time and every step-to-step time).
"""

from __future__ import annotations

import math

from hypothesis import given

from insights.dataset import Column, Dataset, Roles
from insights.funnel_sql import build_levels_sql
from tests.test_funnel_modes import SETTINGS, chdb_levels, frame, funnel_steps, logs, windows


def _rows(ds, steps, window, portable):
    sql, params = build_levels_sql(ds, steps, window, "sequential", portable=portable)
    return sorted(ds.query(sql, params))


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@SETTINGS
@given(rows=logs, steps=funnel_steps, window=windows)
def test_portable_sequential_levels_equal_clickhouse_and_the_asof_form(make_dataset, rows, steps, window):
    ds = make_dataset(frame(rows), unit="user_id", time="ts", event="event")
    portable = _rows(ds, steps, window, True)
    assert {int(r[0]): int(r[1]) for r in portable} == chdb_levels(rows, steps, window)
    asof = _rows(ds, steps, window, False)
    assert len(portable) == len(asof)
    for p, a in zip(portable, asof, strict=True):
        assert all(_same(x, y) for x, y in zip(p, a, strict=True)), (p, a)


def test_only_the_duckdb_form_uses_asof_join():
    ds = Dataset(con=None, table="events", source="t", key="k",  # type: ignore[arg-type]
                 columns=(Column("u", "VARCHAR"), Column("t", "TIMESTAMP"), Column("e", "VARCHAR")),
                 roles=Roles(unit="u", time="t", event="e"), shape="event_log")
    assert "ASOF" not in build_levels_sql(ds, ["a", "b", "c"], 60.0, portable=True)[0].upper()
    assert "ASOF JOIN" in build_levels_sql(ds, ["a", "b", "c"], 60.0)[0]
