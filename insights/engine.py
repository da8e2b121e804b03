"""One interface for every SQL engine the core runs on: DuckDB (default), PostgreSQL, Spark.

The core writes DuckDB SQL. On DuckDB it runs as written, with ``$name`` bound parameters, on cursors of the
dataset's connection (:meth:`insights.dataset.Dataset.query`). On another engine the parameters are inlined as
literals and the statement is translated by :func:`insights.dialects.to_dialect`; the engine runs it and returns
plain Python rows. Only aggregates come back: no analysis reads the events themselves into Python.

:class:`TempRelation` is the one way analyses materialise an intermediate result (per-unit rows, funnel levels)
as a temporary relation, query it a few times, and drop it.
"""

from __future__ import annotations

import decimal
import threading
import uuid
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from insights.dialects import to_dialect
from insights.sql import Dialect, inline_params, quote_ident

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from insights.dataset import Dataset


class Engine(Protocol):
    """A connection to one SQL engine. ``query``/``execute`` take SQL already in the engine's ``dialect``."""

    name: str
    dialect: Dialect

    def query(self, sql: str) -> list[tuple]:
        """Run one statement; all rows as tuples of plain Python values (int, float, str, datetime, list)."""
        ...

    def query_df(self, sql: str) -> pd.DataFrame:
        """Run one statement; the rows as a pandas frame."""
        ...

    def execute(self, sql: str) -> None:
        """Run one statement whose result is not needed (DDL: temporary tables and views)."""
        ...

    def columns(self, relation: str) -> list[tuple[str, str]]:
        """``(name, DuckDB-style type name)`` of each column of a table or view, in order."""
        ...

    def create_temp(self, name: str, select_sql: str) -> None:
        """Materialise ``select_sql`` (engine dialect) as the temporary relation ``name`` (a plain identifier)."""
        ...

    def drop_temp(self, name: str) -> None:
        """Drop a relation made by :meth:`create_temp` (no error when it is gone)."""
        ...

    def close(self) -> None:
        ...


def plain(value: Any) -> Any:
    """A driver value as the core expects it: decimals become int (integral) or float, lists recursively."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 1e18 else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def plain_rows(rows: Sequence[Sequence[Any]]) -> list[tuple]:
    return [tuple(plain(v) for v in r) for r in rows]


class DuckDBEngine:
    """The default engine: a DuckDB connection. Datasets on DuckDB keep using ``Dataset.con`` directly."""

    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def query_df(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def columns(self, relation: str) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self.con.execute(f"DESCRIBE {relation}").fetchall()]

    def create_temp(self, name: str, select_sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS {select_sql}")

    def drop_temp(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")

    def close(self) -> None:
        self.con.close()


def translate(sql: str, params: dict[str, Any] | None, dialect: Dialect) -> str:
    """Core DuckDB SQL with ``$name`` parameters as one statement in ``dialect`` (parameters inlined)."""
    return to_dialect(inline_params(sql, params or {}), dialect)


_locks: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _session_lock(engine: Engine) -> threading.RLock:
    with _locks_guard:
        return _locks.setdefault(engine, threading.RLock())


class TempRelation:
    """A SELECT materialised as a temporary relation for a few queries, then dropped.

    On DuckDB it is a temporary table on its own cursor (temporary tables belong to one connection); on other
    engines the engine's ``create_temp`` (PostgreSQL: a temporary table; Spark: a cached temporary view).
    ``name`` is the quoted identifier to use in SQL; ``query`` runs core SQL that reads it.
    """

    def __init__(self, ds: Dataset, select_sql: str, params: dict[str, Any] | None = None, *,
                 name: str | None = None, prefix: str = "scratch") -> None:
        self.ds = ds
        self._raw = name or f"{prefix}_{uuid.uuid4().hex}"
        self.name = quote_ident(self._raw)
        self._cur: duckdb.DuckDBPyConnection | None = None
        self._lock: threading.RLock | None = None
        if ds.engine is None:
            self._cur = ds.con.cursor()
            try:
                self._cur.execute(f"CREATE OR REPLACE TEMP TABLE {self.name} AS {select_sql}", params or {})
            except BaseException:
                self._cur.close()
                raise
        else:
            # A fixed name (``units``) is one relation per engine session: runs that use it take turns.
            self._lock = _session_lock(ds.engine) if name is not None else None
            if self._lock is not None:
                self._lock.acquire()
            try:
                ds.engine.create_temp(self._raw, translate(select_sql, params, ds.engine.dialect))
            except BaseException:
                self._release()
                raise

    def query(self, sql: str) -> list[tuple]:
        if self._cur is not None:
            return self._cur.execute(sql).fetchall()
        return self.ds.query(sql)

    def close(self) -> None:
        if self._cur is not None:
            try:
                self._cur.execute(f"DROP TABLE IF EXISTS {self.name}")
            finally:
                self._cur.close()
                self._cur = None
        elif self.ds.engine is not None:
            try:
                self.ds.engine.drop_temp(self._raw)
            finally:
                self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> TempRelation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

