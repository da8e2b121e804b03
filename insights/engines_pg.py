"""PostgreSQL as an engine: the core's SQL translated to PostgreSQL and run on the server through psycopg 3.

Credentials never come from the page: the connection URL, libpq's environment (``PGPASSWORD``, ``PGUSER``,
``~/.pgpass``, ...), or a ``[postgres]`` table of ``.streamlit/secrets.toml`` (keys ``user``, ``password``,
``host``, ``port``, ``dbname``) fill what the URL leaves out. The session runs in UTC, and everything the
analyses create is temporary (views and tables in the session's own schema, gone when it closes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from insights.engine import plain_rows
from insights.errors import InsightsError
from insights.sql import Dialect, quote_ident

CONNECT_TIMEOUT_S = 10
SECRET_KEYS = ("user", "password", "host", "port", "dbname")

# PostgreSQL type names -> the DuckDB-style names the core reads (Column.dtype)
_TYPES = {"int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT", "float4": "FLOAT", "float8": "DOUBLE",
          "text": "VARCHAR", "varchar": "VARCHAR", "bpchar": "VARCHAR", "name": "VARCHAR", "citext": "VARCHAR",
          "bool": "BOOLEAN", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMP WITH TIME ZONE", "date": "DATE",
          "time": "TIME", "interval": "INTERVAL", "uuid": "UUID", "json": "JSON", "jsonb": "JSON"}


def duckdb_type(pg_name: str, precision: int | None = None, scale: int | None = None) -> str:
    """The DuckDB type name for a PostgreSQL type (unconstrained numeric reads as DOUBLE, as DuckDB does)."""
    if pg_name == "numeric":
        return f"DECIMAL({precision},{scale or 0})" if precision else "DOUBLE"
    return _TYPES.get(pg_name, pg_name.upper())


def redact(url: str) -> str:
    """The URL without its password, for messages and the dataset's name."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresEngine:
    """One psycopg connection (autocommit) to a PostgreSQL server."""

    name = "postgresql"
    dialect: Dialect = "postgres"

    def __init__(self, url: str, secrets: Mapping[str, Any] | None = None) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise InsightsError("bad_source", f"Cannot read the connection URL {redact(url)!r}.") from exc
        for key in SECRET_KEYS:
            if key not in params and secrets and secrets.get(key) is not None:
                params[key] = str(secrets[key])
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        params.setdefault("application_name", "insights")
        self.url = redact(url)
        try:
            self.conn = psycopg.connect(make_conninfo("", **params), autocommit=True)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InsightsError("unreachable_source", f"Cannot connect to {self.url}: {first}") from exc
        self.conn.execute("SET TimeZone = 'UTC'")

    def query(self, sql: str) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql.encode())
            return plain_rows(cur.fetchall())

    def query_df(self, sql: str) -> pd.DataFrame:
        with self.conn.cursor() as cur:
            cur.execute(sql.encode())
            names = [d.name for d in cur.description or ()]
            return pd.DataFrame(plain_rows(cur.fetchall()), columns=names)

    def execute(self, sql: str) -> None:
        self.conn.execute(sql.encode())

    def columns(self, relation: str) -> list[tuple[str, str]]:
        from psycopg.adapt import AdaptersMap

        types: AdaptersMap = self.conn.adapters
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {relation} LIMIT 0".encode())
            out = []
            for d in cur.description or ():
                info = types.types.get(d.type_code)
                out.append((d.name, duckdb_type(info.name if info else "text", d.precision, d.scale)))
            return out

    def create_temp(self, name: str, select_sql: str) -> None:
        self.execute(f"CREATE TEMPORARY TABLE {quote_ident(name)} AS {select_sql}")
        self.execute(f"ANALYZE {quote_ident(name)}")

    def drop_temp(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")

    def close(self) -> None:
        self.conn.close()
