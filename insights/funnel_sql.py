"""Pure SQL builders for funnels: one row per unit with the deepest step it reached, then aggregates.

The per-unit query (:func:`build_levels_sql`) returns the columns ``unit``, ``level`` (1..N, only units
that did step 1), ``entered_at`` (TIMESTAMP of the unit's first step-1 event), ``dt_2`` .. ``dt_N``
(seconds from step k-1 to step k in the unit's earliest chain that reached step k; NULL in any-order
mode) and, when asked, ``segment`` and ``variant`` (the unit's first-touch values).

Modes
-----
sequential
    ClickHouse ``windowFunnel(window)`` default mode. Events are ordered by (timestamp, step index); a
    step-1 event starts a chain, a step-k event extends a chain at level k-1 when its timestamp is at
    most chain start + window; the unit's level is the deepest level any chain reached; a row matching
    several steps (repeated event names) counts for each. Implemented as one ASOF join per step: for a
    step-k event the chain to extend is the latest level-(k-1) entry at or before it, whose start is the
    latest possible (starts only grow along the order), so it is the one with the most window left. Engines
    without ASOF JOIN get the equivalent range join (see :func:`_sequential_ctes`).
strict
    The steps are consecutive events of the unit: no other event (nor a step out of order) between
    them. Rows with the same timestamp are ordered by the first step they match; rows matching no step
    come after the step rows of the same timestamp.
any
    Step k is reached when one window of the given length holds an event of each of steps 1..k, in any
    order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from insights.dataset import Dataset
from insights.sql import Params, quote_ident

Mode = Literal["sequential", "strict", "any"]
MODES: tuple[Mode, ...] = ("sequential", "strict", "any")

# Histogram edges for time to convert, in seconds; bins wider than the window are dropped.
HIST_EDGES: tuple[float, ...] = (0, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400)


def _first_index(steps: Sequence[str]) -> list[int]:
    """For each step the index of the first step with the same event name (repeated names share it)."""
    return [steps.index(s) for s in steps]


def _step_case(ev: str, steps: Sequence[str], names: Sequence[str], other: int | None) -> str:
    """CASE mapping a row's event to the first step it matches (``other`` for rows matching none)."""
    whens = " ".join(f"WHEN {names[i]} THEN {i}" for i, name in enumerate(steps) if steps.index(name) == i)
    tail = f" ELSE {other}" if other is not None else ""
    return f"CASE {ev} {whens}{tail} END"


def _window_us(window_seconds: float) -> int:
    return int(round(float(window_seconds) * 1_000_000))


def _extras(ds: Dataset, segment: str | None, variant: bool, ts: str) -> tuple[str, str]:
    """A per-unit first-touch CTE for segment/variant and the select list it contributes."""
    cols = []
    if segment is not None:
        cols.append(f"arg_min(CAST({quote_ident(segment)} AS VARCHAR), {ts}) AS segment")
    if variant and ds.roles.variant:
        cols.append(f"arg_min(CAST({quote_ident(ds.roles.variant)} AS VARCHAR), {ts}) AS variant")
    if not cols:
        return "", ""
    unit = quote_ident(ds.roles.unit)  # type: ignore[arg-type]
    cte = (f",\nfirst_touch AS (SELECT {unit} AS u, {', '.join(cols)} FROM {ds.table_sql} "
           f"WHERE {unit} IS NOT NULL AND {ts} IS NOT NULL GROUP BY 1)")
    names = ", ".join(c.rsplit(" AS ", 1)[1] for c in cols)
    return cte, names


def _sequential_ctes(ds: Dataset, names: Sequence[str], w: int, where: str, portable: bool = False) -> list[str]:
    """CTEs ending in ``lv`` for the sequential mode: one ASOF join per step, each step read by its own scan.

    ``portable=True`` writes each ASOF join as a range join grouped by the step-k event, for engines without
    ASOF JOIN (PostgreSQL, Spark); DuckDB keeps the ASOF form, which is faster.

    ``r{j}`` holds every step-(j+1) event that extends a chain (u, t, chain start s, previous step time p).
    Level 1 only needs the unit's first step-1 time, so it is grouped on its own; the deeper levels are
    grouped together and joined back, which keeps the largest level out of the wide grouping.
    """
    unit, ev, ts = quote_ident(ds.roles.unit), quote_ident(ds.roles.event), ds.time_sql()  # type: ignore[arg-type]

    def scan(j: int) -> str:
        return f"(SELECT {unit} AS u, epoch_us({ts}) AS t FROM {ds.table_sql} {where} AND {ev} = {names[j]})"

    n = len(names)
    ctes = [f"h AS (SELECT u, min(t) AS t0 FROM {scan(0)} GROUP BY u)"]
    if n == 1:
        return [*ctes, "lv AS (SELECT u, 1 AS level, t0 FROM h)"]
    if portable:
        # The latest level-(k-1) entry at or before x has the latest start (starts only grow along the order), so
        # among all entries with r.t <= x.t whose window still covers x it is the one with max(r.t) and max(r.s).
        ctes.append(f"r1 AS (SELECT x.u, x.t, max(r.t) AS s, max(r.t) AS p FROM {scan(1)} AS x JOIN {scan(0)} AS r "
                    f"ON x.u = r.u AND r.t <= x.t AND x.t <= r.t + {w} GROUP BY x.u, x.t)")
        for j in range(2, n):
            ctes.append(f"r{j} AS (SELECT x.u, x.t, max(r.s) AS s, max(r.t) AS p FROM {scan(j)} AS x JOIN r{j - 1} "
                        f"AS r ON x.u = r.u AND r.t <= x.t AND x.t <= r.s + {w} GROUP BY x.u, x.t)")
    else:
        ctes.append(f"r1 AS (SELECT x.u, x.t, r.t AS s, r.t AS p FROM {scan(1)} AS x ASOF JOIN {scan(0)} AS r "
                    f"ON x.u = r.u AND x.t >= r.t WHERE x.t <= r.t + {w})")
        for j in range(2, n):
            ctes.append(f"r{j} AS (SELECT x.u, x.t, r.s, r.t AS p FROM {scan(j)} AS x ASOF JOIN r{j - 1} AS r "
                        f"ON x.u = r.u AND x.t >= r.t WHERE x.t <= r.s + {w})")
    union = " UNION ALL ".join(f"SELECT u, {j + 1} AS l, t, t - p AS d FROM r{j}" for j in range(1, n))
    aggs = ", ".join(f"arg_min(d, t) FILTER (WHERE l = {j + 1}) / 1e6 AS dt_{j + 1}" for j in range(1, n))
    dts = ", ".join(f"d.dt_{j + 1}" for j in range(1, n))
    ctes.append(f"d AS (SELECT u, max(l) AS level, {aggs} FROM ({union}) GROUP BY u)")
    ctes.append(f"lv AS (SELECT h.u, coalesce(d.level, 1) AS level, h.t0, {dts} FROM h LEFT JOIN d USING (u))")
    return ctes


def build_levels_sql(
    ds: Dataset,
    steps: Sequence[str],
    window_seconds: float,
    mode: Mode = "sequential",
    *,
    segment: str | None = None,
    variant: bool = False,
    portable: bool | None = None,
) -> tuple[str, dict[str, Any]]:
    """SQL giving one row per unit that did step 1: its level, entry time and step-to-step times.

    ``portable`` (default: when the dataset's engine is not DuckDB) avoids DuckDB's ASOF JOIN.
    """
    ds.require("unit", "time", "event")
    p = Params("f")
    unit, ev, ts = quote_ident(ds.roles.unit), quote_ident(ds.roles.event), ds.time_sql()  # type: ignore[arg-type]
    n = len(steps)
    w = _window_us(window_seconds)
    first = _first_index(steps)
    bound = {name: p.add(name) for name in dict.fromkeys(steps)}
    names = [bound[s] for s in steps]
    only_steps = f" AND {ev} IN ({', '.join(names[i] for i in range(n) if first[i] == i)})"
    where = f"WHERE {unit} IS NOT NULL AND {ts} IS NOT NULL"
    other = n if mode == "strict" else None
    base = (f"base AS MATERIALIZED (SELECT {unit} AS u, epoch_us({ts}) AS t, {ev} AS e, "
            f"{_step_case(ev, steps, names, other)} AS k FROM {ds.table_sql} {where}"
            f"{'' if mode == 'strict' else only_steps})")
    portable = ds.dialect != "duckdb" if portable is None else portable
    ctes = _sequential_ctes(ds, names, w, where, portable) if mode == "sequential" else [base]
    dts = [f"dt_{j + 1}" for j in range(1, n)]
    if mode == "strict":
        win = "(PARTITION BY u ORDER BY t, k)"
        conds = [f"(lead(e, {j}) OVER {win} = {names[j]} AND lead(t, {j}) OVER {win} <= t + {w})" for j in range(1, n)]
        depth = " ".join(f"WHEN {' AND '.join(conds[:j])} THEN {j + 1}" for j in range(n - 1, 0, -1))
        gaps = [f"lead(t, {j}) OVER {win} - lead(t, {j - 1}) OVER {win} AS g{j + 1}" for j in range(1, n)]
        ctes.append(f"chains AS (SELECT u, t, e, CASE {depth} ELSE 1 END AS l{''.join(', ' + g for g in gaps)} "
                    f"FROM base)" if n > 1 else "chains AS (SELECT u, t, e, 1 AS l FROM base)")
        aggs = [f"arg_min(g{j + 1}, t) FILTER (WHERE l >= {j + 1}) / 1e6 AS dt_{j + 1}" for j in range(1, n)]
        ctes.append(f"lv AS (SELECT u, max(l) AS level, min(t) AS t0{''.join(', ' + a for a in aggs)} "
                    f"FROM chains WHERE e = {names[0]} GROUP BY u)")
    elif mode == "any":
        win = f"(PARTITION BY u ORDER BY t RANGE BETWEEN CURRENT ROW AND {w} FOLLOWING)"
        has = [f"(count(*) FILTER (WHERE e = {names[j]}) OVER {win} > 0)" for j in range(n)]
        depth = " ".join(f"WHEN {' AND '.join(has[:j + 1])} THEN {j + 1}" for j in range(n - 1, -1, -1))
        ctes.append(f"windows AS (SELECT u, t, e, CASE {depth} ELSE 0 END AS l FROM base)")
        nulls = "".join(f", NULL::DOUBLE AS {d}" for d in dts)
        ctes.append(f"lv AS (SELECT u, max(l) AS level, min(t) FILTER (WHERE e = {names[0]}) AS t0{nulls} "
                    f"FROM windows GROUP BY u HAVING max(l) >= 1)")
    extra_cte, extra_cols = _extras(ds, segment, variant, ts)
    select = ["lv.u AS unit", "lv.level", "make_timestamp(lv.t0) AS entered_at", *(f"lv.{d}" for d in dts)]
    join = ""
    if extra_cols:
        select.append(extra_cols)
        join = " LEFT JOIN first_touch USING (u)"
        select = [s.replace("lv.u AS unit", "u AS unit") for s in select]
    sep = ",\n"
    sql = f"WITH {sep.join(ctes)}{extra_cte}\nSELECT {', '.join(select)} FROM lv{join}"
    return sql, p.values


def build_steps_sql(levels: str, n_steps: int, group: str | None = None) -> str:
    """Per-step units and time-to-convert quantiles over a ``levels`` relation (optionally per ``group``)."""
    cols = ["count(*) AS n_1"]
    for j in range(2, n_steps + 1):
        cols += [f"count(*) FILTER (WHERE level >= {j}) AS n_{j}", f"median(dt_{j}) AS median_{j}",
                 f"quantile_cont(dt_{j}, 0.9) AS p90_{j}"]
    if group is None:
        return f"SELECT {', '.join(cols)} FROM {levels}"
    return f"SELECT {group} AS grp, {', '.join(cols)} FROM {levels} GROUP BY 1 ORDER BY n_1 DESC, 1"


def build_histogram_sql(levels: str, n_steps: int, window_seconds: float) -> str:
    """Counts of time to convert from the previous step per step and bin (``bin`` indexes HIST_EDGES)."""
    edges = [e for e in HIST_EDGES if e < window_seconds] or [0.0]
    parts = []
    for j in range(2, n_steps + 1):
        whens = " ".join(f"WHEN dt_{j} < {edges[i + 1]} THEN {i}" for i in range(len(edges) - 1))
        case = f"CASE {whens} ELSE {len(edges) - 1} END" if whens else "0"
        parts.append(f"SELECT {j} AS step, {case} AS bin, count(*) AS n FROM {levels} "
                     f"WHERE dt_{j} IS NOT NULL GROUP BY ALL")
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2" if parts else ""


def build_trend_sql(levels: str, n_steps: int, grain: Literal["day", "week"]) -> str:
    """Units entering per day or week and how many of them reached each step."""
    counts = ", ".join(f"count(*) FILTER (WHERE level >= {j}) AS n_{j}" for j in range(1, n_steps + 1))
    return f"SELECT date_trunc('{grain}', entered_at) AS period, {counts} FROM {levels} GROUP BY 1 ORDER BY 1"


def build_funnel_sql(
    ds: Dataset, steps: Sequence[str], window_seconds: float, mode: Mode = "sequential",
    segment: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Self-contained SQL giving the units per step (and per segment when ``segment`` is given)."""
    levels, params = build_levels_sql(ds, steps, window_seconds, mode, segment=segment)
    body = build_steps_sql("levels", len(steps), "segment" if segment else None)
    return f"WITH levels AS ({levels})\n{body}", params


def build_dropoff_sql(
    ds: Dataset, steps: Sequence[str], window_seconds: float, mode: Mode, step: int,
) -> tuple[str, dict[str, Any]]:
    """Units that reached step ``step`` (1-based) but not the next one, with their entry time."""
    levels, params = build_levels_sql(ds, steps, window_seconds, mode)
    sql = (f"WITH levels AS ({levels})\nSELECT unit, entered_at, level AS last_step FROM levels "
           f"WHERE level = {int(step)} ORDER BY entered_at, unit")
    return sql, params
