"""Infer column roles (unit id, timestamp, event name, variant, dimensions, metrics)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from insights.dataset import INTEGER_TYPES, Column, Roles, is_numeric, text_time_sql, time_unit_for
from insights.dialects import to_dialect
from insights.sql import quote_ident

if TYPE_CHECKING:
    from insights.engine import Engine

SAMPLE_ROWS = 200_000
MAX_DIMENSION_VALUES = 200
MAX_EVENT_VALUES = 1_000
COLUMNS_PER_SCAN = 16

_UNIT = ("user_id", "userid", "user", "uid", "customer_id", "customerid", "customer", "client_id", "account_id",
         "accountid", "account", "visitor_id", "visitorid", "member_id", "player_id", "playerid", "person_id",
         "distinct_id", "anonymous_id", "device_id", "session_id", "lead_id", "mql_id", "id")
_TIME = ("event_time", "event_timestamp", "timestamp", "time", "ts", "datetime", "event_date", "occurred_at",
         "created_at", "date", "time_stamp", "event_ts", "first_contact_date", "won_date")
_EVENT = ("event", "event_name", "event_type", "eventname", "action", "activity", "page", "step", "name")
_VARIANT = ("variant", "group", "ab_group", "test_group", "experiment_group", "arm", "treatment", "bucket",
            "version", "variation", "experiment_variant")


def normalise(name: str) -> str:
    """Lower-case, trimmed, separators folded to ``_``: how names are matched to role patterns."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _rank(name: str, patterns: Sequence[str]) -> int | None:
    key = normalise(name)
    if key in patterns:
        return patterns.index(key)
    if patterns is _TIME and re.search(r"(^|_)(time|timestamp|date|ts|at)$|time", key):
        return len(patterns)
    return None


@dataclass(frozen=True, slots=True)
class ColumnStats:
    """What inference needs to know about one column, measured on the first rows."""

    column: Column
    n_distinct: int
    n_nonnull: int
    parse_rate: float
    epoch: str | None
    binary: bool


def _measure_sql(table: str, columns: Sequence[Column], parse_text: bool = True) -> str:
    parts = []
    for c in columns:
        q = quote_ident(c.name)
        upper = c.dtype.upper()
        # Parsing text as time is costly: only columns whose name says time are candidates for the time role.
        parses = parse_text and upper == "VARCHAR" and _rank(c.name, _TIME) is not None
        parts += [f"count(DISTINCT {q})", f"count({q})", f"count({text_time_sql(q)})" if parses else "0"]
        if upper.startswith(INTEGER_TYPES) or upper.startswith(("DOUBLE", "FLOAT", "DECIMAL")):
            parts += [f"min({q})::DOUBLE", f"max({q})::DOUBLE", f"bool_and({q} IN (0, 1))"]
        else:
            parts += ["NULL", "NULL", "NULL"]
    return f"SELECT {', '.join(parts)} FROM (SELECT * FROM {quote_ident(table)} LIMIT {SAMPLE_ROWS})"


def _measure(con: duckdb.DuckDBPyConnection | Engine, table: str, columns: Sequence[Column]) -> list[ColumnStats]:
    # DuckDB plans many DISTINCT aggregates in one SELECT slowly (superlinear): measure in chunks.
    row: list = []
    for start in range(0, len(columns), COLUMNS_PER_SCAN):
        chunk = columns[start:start + COLUMNS_PER_SCAN]
        if isinstance(con, duckdb.DuckDBPyConnection):
            row.extend(con.execute(_measure_sql(table, chunk)).fetchone() or ())
        else:  # text timestamps are parsed by DuckDB only; elsewhere the time column must be a timestamp
            row.extend(con.query(to_dialect(_measure_sql(table, chunk, parse_text=False), con.dialect))[0])
    out = []
    for i, c in enumerate(columns):
        n_distinct, n_nonnull, n_parsed, lo, hi, zero_one = row[6 * i: 6 * i + 6]
        epoch = None
        if lo is not None and hi is not None and c.dtype.upper().startswith(INTEGER_TYPES):
            if 9e8 <= lo and hi <= 4.2e9:
                epoch = "epoch_s"
            elif 9e11 <= lo and hi <= 4.2e12:
                epoch = "epoch_ms"
        binary = c.dtype.upper() == "BOOLEAN" or bool(zero_one)
        out.append(ColumnStats(c, int(n_distinct), int(n_nonnull), (n_parsed / n_nonnull) if n_nonnull else 0.0,
                               epoch, binary))
    return out


def _pick(stats: Sequence[ColumnStats], patterns: Sequence[str], ok) -> ColumnStats | None:  # noqa: ANN001
    ranked = [(r, s) for s in stats if (r := _rank(s.column.name, patterns)) is not None and ok(s)]
    return min(ranked, key=lambda t: t[0])[1] if ranked else None


def _is_time_like(s: ColumnStats) -> bool:
    upper = s.column.dtype.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return True
    if upper == "VARCHAR":
        return s.parse_rate >= 0.9
    return s.epoch is not None


def infer_roles(con: duckdb.DuckDBPyConnection | Engine, table: str, columns: Sequence[Column]) -> Roles:
    """Guess each column's role from its name, type and values; the user can override every guess.

    ``con`` is the DuckDB connection holding ``table``, or the engine holding it (PostgreSQL, Spark).
    """
    stats = _measure(con, table, columns)
    time = _pick(stats, _TIME, _is_time_like)
    if time is None:
        native = [s for s in stats if s.column.dtype.upper().startswith("TIMESTAMP")]
        time = native[0] if native else None
    taken = {time.column.name} if time else set()

    def free(s: ColumnStats) -> bool:
        return s.column.name not in taken

    unit = _pick(stats, _UNIT, lambda s: free(s) and not s.column.dtype.upper().startswith(("DOUBLE", "FLOAT"))
                 and not s.binary)
    if unit is None:
        id_like = [s for s in stats if free(s) and normalise(s.column.name).endswith("id") and s.n_distinct > 1]
        unit = max(id_like, key=lambda s: s.n_distinct) if id_like else None
    if unit:
        taken.add(unit.column.name)
    event = _pick(stats, _EVENT, lambda s: free(s) and s.column.dtype.upper() == "VARCHAR"
                  and 1 <= s.n_distinct <= MAX_EVENT_VALUES)
    if event:
        taken.add(event.column.name)
    variant = _pick(stats, _VARIANT, lambda s: free(s) and 2 <= s.n_distinct <= 10)
    if variant:
        taken.add(variant.column.name)

    dimensions, metrics = [], []
    for s in stats:
        if not free(s):
            continue
        upper = s.column.dtype.upper()
        if s.binary or (is_numeric(upper) and s.n_distinct > 1 and not normalise(s.column.name).endswith("id")):
            metrics.append(s.column.name)
        elif (upper == "VARCHAR" or upper == "DATE" or upper.startswith("ENUM")) and 2 <= s.n_distinct <= \
                MAX_DIMENSION_VALUES:
            dimensions.append(s.column.name)
    time_unit = "native"
    if time is not None:
        time_unit = time.epoch or time_unit_for(time.column.dtype)  # type: ignore[assignment]
    return Roles(
        unit=unit.column.name if unit else None,
        time=time.column.name if time else None,
        event=event.column.name if event else None,
        variant=variant.column.name if variant else None,
        dimensions=tuple(dimensions),
        metrics=tuple(metrics),
        time_unit=time_unit,  # type: ignore[arg-type]
    )
