"""SQL helpers: identifier quoting, literal rendering for display, dialect transpilation."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import sqlglot

Dialect = Literal["duckdb", "postgres", "bigquery", "snowflake", "clickhouse", "spark"]
DIALECTS: tuple[Dialect, ...] = ("duckdb", "postgres", "bigquery", "snowflake", "clickhouse", "spark")
DIALECT_NAMES: dict[str, str] = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "bigquery": "BigQuery",
                                 "snowflake": "Snowflake", "clickhouse": "ClickHouse", "spark": "Spark"}

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB: wrap in double quotes, double any inner quote."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """Render a Python value as a SQL literal (for showing reproducible SQL, never for running user text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "NULL"
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def inline_params(sql: str, params: Mapping[str, Any]) -> str:
    """Replace ``$name`` placeholders with literals so the SQL can be copied and run as is."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        return quote_literal(params[key]) if key in params else match.group(0)

    return _PARAM.sub(sub, sql)


def transpile(sql: str, dialect: Dialect) -> str:
    """Translate DuckDB SQL to another dialect with sqlglot, pretty-printed.

    PostgreSQL and Spark get the same rewrites as the SQL the core runs there (:mod:`insights.dialects`), so
    what is shown for them is what runs on them.
    """
    if dialect == "duckdb":
        return sqlglot.transpile(sql, read="duckdb", write="duckdb", pretty=True)[0]
    if dialect in ("postgres", "spark"):
        from insights.dialects import to_dialect

        return to_dialect(sql, dialect, pretty=True)
    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]


def shown_sql(sql: str, dialect: Dialect, events_name: str | None = None, events_sql: str | None = None) -> str:
    """Core DuckDB SQL as shown to a user of an engine: in its dialect and self-contained.

    On an engine the core reads the events through a temporary view (``events_name``); the shown SQL defines
    it as its first CTE (``events_sql``, the user's table or SELECT) so that it runs as it is there.
    """
    if dialect == "duckdb":
        return sql
    text = transpile(sql, dialect)
    if not (events_name and events_sql):
        return text
    from sqlglot import exp

    tree = sqlglot.parse_one(text, read=dialect)
    cte = exp.CTE(this=sqlglot.parse_one(events_sql, read=dialect),
                  alias=exp.TableAlias(this=exp.to_identifier(events_name)))
    with_ = tree.args.get("with_") or tree.args.get("with")
    if isinstance(with_, exp.With):
        with_.set("expressions", [cte, *with_.expressions])
    else:
        tree = tree.with_(events_name, as_=cte.this, dialect=dialect)  # type: ignore[attr-defined]
    return tree.sql(dialect=dialect, pretty=True)


class Params:
    """Collects bound parameters while a builder writes SQL: ``p.add(value)`` returns ``$pN``."""

    def __init__(self, prefix: str = "p") -> None:
        self._prefix = prefix
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        key = f"{self._prefix}{len(self.values)}"
        self.values[key] = value
        return f"${key}"
