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


class Params:
    """Collects bound parameters while a builder writes SQL: ``p.add(value)`` returns ``$pN``."""

    def __init__(self, prefix: str = "p") -> None:
        self._prefix = prefix
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        key = f"{self._prefix}{len(self.values)}"
        self.values[key] = value
        return f"${key}"
