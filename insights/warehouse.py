"""Open events that live in a SQL engine (PostgreSQL, Spark) as a :class:`~insights.dataset.Dataset`.

The events are named by a table (``--table analytics.events``) or a SELECT over it (``--sql``), written in the
engine's own dialect. They stay where they are: a temporary view ``insights_events_<8 hex>`` (one name per
source, since a Spark session is shared by the whole process) points at them, the
schema is read from the engine, roles are inferred with the same measurements as for files (run on the
engine, only their aggregates come back), and every analysis runs as SQL on the engine.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from insights.dataset import Column, Dataset
from insights.engine import Engine
from insights.errors import InsightsError
from insights.sql import quote_ident

EVENTS_VIEW = "insights_events"
SECRETS = Path(".streamlit") / "secrets.toml"


_SPARK_MASTERS = ("spark://", "local[", "k8s://", "yarn")


def is_engine_source(source: str) -> bool:
    """True for a PostgreSQL URL or a Spark source (``spark`` or a master: ``spark://...``, ``local[...]``, ...)."""
    s = source.strip().lower()
    return s.startswith(("postgresql://", "postgres://", *_SPARK_MASTERS)) or s == "spark"


def read_secrets(section: str, path: Path = SECRETS) -> dict[str, Any]:
    """One table of ``.streamlit/secrets.toml`` (empty when the file or the table is absent)."""
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            value = tomllib.load(fh).get(section, {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InsightsError("bad_secrets", f"{path} is not valid TOML ({exc}).") from exc
    return dict(value) if isinstance(value, Mapping) else {}


def configured_source(secrets_path: Path = SECRETS) -> tuple[str, str | None, str | None] | None:
    """The configured engine source as (source, table, sql), or None when there is none.

    From the environment (``INSIGHTS_SOURCE`` with ``INSIGHTS_TABLE`` or ``INSIGHTS_SQL``), else the ``[warehouse]``
    table of the secrets file (``source``, ``table`` or ``sql``); an unreadable secrets file counts as none.
    Credentials are not part of it: they stay in ``PGPASSWORD`` or the ``[postgres]`` secrets.
    """
    source = os.environ.get("INSIGHTS_SOURCE", "").strip()
    if source:
        return source, os.environ.get("INSIGHTS_TABLE") or None, os.environ.get("INSIGHTS_SQL") or None
    try:
        conf = read_secrets("warehouse", secrets_path)
    except InsightsError:
        return None
    source = str(conf.get("source") or "").strip()
    return (source, conf.get("table") or None, conf.get("sql") or None) if source else None


def connect(source: str, secrets: Mapping[str, Any] | None = None) -> Engine:
    """The engine for ``source``: ``postgresql://...`` or ``spark`` / a Spark master URL."""
    s = source.strip()
    if s.lower().startswith(("postgresql://", "postgres://")):
        from insights.engines_pg import PostgresEngine

        return PostgresEngine(s, read_secrets("postgres") if secrets is None else secrets)
    if is_engine_source(s):
        from insights.engines_spark import SparkEngine

        return SparkEngine(None if s.lower() == "spark" else s)
    raise InsightsError("bad_source", f"Unknown source {source!r}; use postgresql://... or spark.")


def _dialect_of(source: str) -> str:
    s = source.strip().lower()
    if s.startswith(("postgresql://", "postgres://")):
        return "postgres"
    if is_engine_source(s):
        return "spark"
    raise InsightsError("bad_source", f"Unknown source {source!r}; use postgresql://... or spark.")


def relation_sql(dialect: str, table: str | None, sql: str | None) -> str:
    """The SELECT the events view is defined by, from a table name or a read-only SELECT (engine dialect)."""
    if (table is None) == (sql is None):
        raise InsightsError("bad_source", "Name the events with exactly one of --table NAME or --sql \"SELECT ...\".")
    if table is not None:
        try:
            name = exp.to_table(table.strip(), dialect=dialect)
        except sqlglot.errors.ParseError as exc:
            raise InsightsError("bad_source", f"{table!r} is not a table name.") from exc
        if not name.name:
            raise InsightsError("bad_source", f"{table!r} is not a table name.")
        return f"SELECT * FROM {name.sql(dialect=dialect)}"
    try:
        statements = [s for s in sqlglot.parse(sql or "", read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise InsightsError("bad_source", f"The --sql text does not parse as {dialect} SQL.") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise InsightsError("bad_source", "--sql must be exactly one SELECT statement.")
    return (sql or "").strip().rstrip(";")


def open_engine_source(source: str, *, table: str | None = None, sql: str | None = None,
                       engine: Engine | None = None) -> Dataset:
    """Point at the events in ``source`` and infer their roles; the events never leave the engine."""
    from insights.schema import infer_roles

    dialect = engine.dialect if engine is not None else _dialect_of(source)
    select = relation_sql(dialect, table, sql)  # checked before connecting: a typo costs no connection
    engine = engine or connect(source)
    # one view name per source: a Spark session is shared by every dataset of the process
    name = f"{EVENTS_VIEW}_{hashlib.sha256(chr(0).join((engine.name, source, select)).encode()).hexdigest()[:8]}"
    view = quote_ident(name) if engine.dialect != "spark" else f"`{name}`"
    try:
        engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS {select}")
        columns = [Column(n, t) for n, t in engine.columns(view)]
        n_rows = int(engine.query(f"SELECT count(*) FROM {view}")[0][0])
    except InsightsError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InsightsError("bad_source", f"Cannot read the events from {_display(engine, source)}: {first}") \
            from exc
    what = table or "the --sql query"
    if n_rows == 0:
        raise InsightsError("no_rows", f"{what} has no rows.")
    if len(columns) < 2:
        raise InsightsError("one_column", f"{what} has a single column; it needs a unit id and one more column.")
    display = f"{what} on {_display(engine, source)}"
    key = hashlib.sha256(f"{engine.name}\0{source}\0{select}\0{n_rows}".encode()).hexdigest()[:16]
    base = Dataset(con=None, table=name, source=display, key=key,  # type: ignore[arg-type]
                   columns=tuple(columns), roles=infer_roles(engine, name, columns), shape="unit_table",
                   engine=engine, view_sql=select)
    return base.with_roles()


def _display(engine: Engine, source: str) -> str:
    return getattr(engine, "url", None) or (source if source.strip().lower() != "spark" else
                                            f"Spark ({os.environ.get('INSIGHTS_SPARK_MASTER', 'local[2]')})")
