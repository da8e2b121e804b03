"""The default funnel: the progression most units follow, inferred from one aggregate query.

For the most common events (by units) DuckDB returns, per ordered pair of events (a, b), the units that did
both and how many of them did a for the first time at or before their first b, plus per event the units,
the average position of its first occurrence among the unit's events and the share of units for which it
is the very first event. Python then picks the path:

- Entry events (done by nearly every unit and nearly always its first event, like ``session_start``) say
  nothing about drop-off and are left out while enough other events remain.
- Events are ordered by the average position of their first occurrence; a step may follow another only
  when it comes later in that order, no more units do it (unit counts never grow along a funnel), and at
  least ``MIN_PRECEDENCE`` of the units doing it did the previous step first. Side paths (``search``) and
  events only part of the population can do (``experiment_exposure``) fail the last test.
- Among the admissible paths the longest (up to ``n_steps``) wins, then the one whose steps follow each
  other most consistently, then the one with most units at its first step.

On logs with more than ``SAMPLE_EVENTS`` events the statistics come from a fixed subset of units (those
whose id hashes to 0 modulo ``rows // SAMPLE_EVENTS``): a suggestion needs shares, not exact counts. Other
engines (PostgreSQL, Spark) count every unit, since their hash functions differ from DuckDB's; on such large
logs their suggestion can therefore differ from DuckDB's.
"""

from __future__ import annotations

from dataclasses import dataclass

from insights.dataset import Dataset
from insights.metrics import event_values
from insights.sql import quote_ident

MAX_STEPS = 10
SAMPLE_EVENTS = 500_000
MAX_CANDIDATES = 12
MIN_PRECEDENCE = 0.5
ENTRY_UNIT_SHARE = 0.95
ENTRY_FIRST_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class _Event:
    name: str
    units: int
    position: float
    first_share: float


def build_suggest_sql(ds: Dataset, candidates: int = MAX_CANDIDATES, modulus: int = 1) -> str:
    """Pair counts among the ``candidates`` most common events: a, b, units of both, units with a first.

    With ``modulus`` > 1 only units whose id hashes to 0 modulo it are counted.
    """
    unit, ev, ts = quote_ident(ds.roles.unit), quote_ident(ds.roles.event), ds.time_sql()  # type: ignore[arg-type]
    subset = f" AND hash({unit}) % {int(modulus)} = 0" if modulus > 1 else ""
    return (
        f"WITH f0 AS (SELECT {unit} AS u, CAST({ev} AS VARCHAR) AS e, min({ts}) AS t FROM {ds.table_sql} "
        f"WHERE {unit} IS NOT NULL AND {ev} IS NOT NULL AND {ts} IS NOT NULL{subset} GROUP BY 1, 2),\n"
        f"top AS (SELECT e FROM f0 GROUP BY e ORDER BY count(*) DESC, e LIMIT {int(candidates)}),\n"
        "f AS (SELECT u, e, t, rank() OVER (PARTITION BY u ORDER BY t) AS pos FROM f0 SEMI JOIN top USING (e))\n"
        "SELECT a.e AS a, b.e AS b, count(*) AS n_both, count(*) FILTER (WHERE a.t <= b.t) AS n_a_first, "
        "avg(a.pos) AS position, avg((a.pos = 1)::INTEGER) AS first_share\n"
        "FROM f AS a JOIN f AS b USING (u) GROUP BY 1, 2"
    )


def _best_path(events: list[_Event], prec: dict[tuple[str, str], float], n_steps: int) -> tuple[str, ...]:
    """Longest admissible path (then most consistent, then widest entry) by dynamic programming."""
    order = sorted(events, key=lambda e: (e.position, -e.units, e.name))
    # best[i][length] = (score, first units, path) of the best path of that length ending at order[i]
    best: list[dict[int, tuple[float, int, tuple[str, ...]]]] = []
    for i, e in enumerate(order):
        table: dict[int, tuple[float, int, tuple[str, ...]]] = {1: (0.0, e.units, (e.name,))}
        for j in range(i):
            p = order[j]
            share = prec.get((p.name, e.name), 0.0)
            if e.units > p.units or share < MIN_PRECEDENCE:
                continue
            for length, (score, first, path) in best[j].items():
                if length >= n_steps:
                    continue
                cand = (score + share, first, path + (e.name,))
                have = table.get(length + 1)
                if have is None or (cand[0], cand[1]) > (have[0], have[1]):
                    table[length + 1] = cand
        best.append(table)
    options = [(length, s, first, path) for t in best for length, (s, first, path) in t.items() if length >= 2]
    if not options:
        return ()
    options.sort(key=lambda o: o[3])  # ties go to the alphabetically first path
    return max(options, key=lambda o: (o[0], o[1], o[2]))[3]


def suggest_steps(ds: Dataset, n_steps: int = 4) -> tuple[str, ...]:
    """The progression most units follow, up to ``n_steps`` events (see the module docstring).

    Falls back to the most frequent events when no two events follow each other consistently.
    """
    ds.require("unit", "time", "event")
    k = max(2, min(int(n_steps), MAX_STEPS))
    modulus = 1
    if ds.dialect == "duckdb":  # other engines have no hash() that agrees with DuckDB's: they count every unit
        n_rows = ds.query(f"SELECT count(*) FROM {ds.table_sql}")[0][0]
        modulus = max(1, int(n_rows) // SAMPLE_EVENTS)
    rows = ds.query(build_suggest_sql(ds, modulus=modulus))
    stats: dict[str, _Event] = {}
    both: dict[tuple[str, str], tuple[int, int]] = {}
    for a, b, n_both, n_a_first, position, first_share in rows:
        if a == b:
            stats[a] = _Event(a, int(n_both), float(position), float(first_share))
        else:
            both[(a, b)] = (int(n_both), int(n_a_first))
    n_units = max((e.units for e in stats.values()), default=0)
    entry = {e.name for e in stats.values()
             if e.units >= ENTRY_UNIT_SHARE * n_units and e.first_share >= ENTRY_FIRST_SHARE}
    events = [e for e in stats.values() if e.name not in entry]
    if len(events) < 2:
        events = list(stats.values())
    prec = {(a, b): n_first / stats[b].units for (a, b), (_, n_first) in both.items()}
    path = _best_path(events, prec, k)
    return path if path else tuple(event_values(ds)[:k])
