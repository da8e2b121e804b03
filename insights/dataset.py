"""The loaded dataset: one DuckDB connection, one table, its columns and their roles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import duckdb

from insights.errors import InsightsError
from insights.sql import Dialect, quote_ident, shown_sql

if TYPE_CHECKING:
    from insights.engine import Engine

Role = Literal["unit", "time", "event", "variant", "dimension", "metric", "other"]
Shape = Literal["event_log", "unit_table"]
ROLE_NAMES: tuple[Role, ...] = ("unit", "time", "event", "variant", "dimension", "metric", "other")

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL")
INTEGER_TYPES = NUMERIC_TYPES[:9]
TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


TEXT_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                     "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d %b %Y %H:%M:%S", "%d %b %Y")


def text_time_sql(quoted: str) -> str:
    """Parse text timestamps: ISO forms (offsets converted to UTC) first, then common other formats."""
    formats = ", ".join("'" + f + "'" for f in TEXT_TIME_FORMATS)
    return f"coalesce(TRY_CAST({quoted} AS TIMESTAMPTZ)::TIMESTAMP, try_strptime({quoted}, [{formats}]))"


def is_numeric(dtype: str) -> bool:
    """True for DuckDB integer, float and decimal types."""
    return dtype.upper().startswith(NUMERIC_TYPES) or dtype.upper().startswith("DECIMAL")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the loaded table.

    name
        Column name exactly as in the file.
    dtype
        DuckDB type name, e.g. ``VARCHAR``, ``BIGINT``, ``TIMESTAMP``.
    """

    name: str
    dtype: str


@dataclass(frozen=True, slots=True)
class Roles:
    """Which column plays which part. ``None`` means the role is absent.

    unit
        Unit id (user, account, session); experiments and segments count units.
    time
        Event timestamp.
    event
        Event name (event logs only).
    variant
        Experiment variant.
    dimensions
        Categorical columns to break results down by.
    metrics
        Numeric columns usable as metrics (sums, means, 0/1 flags).
    time_unit
        How the time column is read: ``"native"`` (TIMESTAMP/DATE), ``"text"`` (parsed),
        ``"epoch_s"`` or ``"epoch_ms"`` (integers since 1970).
    """

    unit: str | None = None
    time: str | None = None
    event: str | None = None
    variant: str | None = None
    dimensions: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    time_unit: Literal["native", "text", "epoch_s", "epoch_ms"] = "native"

    def role_of(self, column: str) -> Role:
        """The role of ``column`` under these roles."""
        for role in ("unit", "time", "event", "variant"):
            if getattr(self, role) == column:
                return role  # type: ignore[return-value]
        if column in self.dimensions:
            return "dimension"
        if column in self.metrics:
            return "metric"
        return "other"


@dataclass(frozen=True)
class Dataset:
    """A file loaded into DuckDB, with the roles every analysis uses.

    The connection is locked down after loading (no file or network access, configuration
    locked), so SQL from people and LLMs can run on a cursor of it safely.

    When the events live in another engine (PostgreSQL, Spark), ``engine`` is that engine, ``con`` is None
    and :meth:`query` translates the core's DuckDB SQL to the engine's dialect.
    """

    con: duckdb.DuckDBPyConnection = field(repr=False, compare=False)
    table: str
    source: str
    key: str
    columns: tuple[Column, ...]
    roles: Roles
    shape: Shape
    load_notes: tuple[tuple[str, str], ...] = ()
    engine: Engine | None = field(default=None, repr=False, compare=False)
    view_sql: str | None = None

    def shown_sql(self, sql: str) -> str:
        """Core SQL as shown to the user: in the engine's dialect, defining the events view it reads."""
        return shown_sql(sql, self.dialect, self.table, self.view_sql)

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of the engine that runs the analyses."""
        return "duckdb" if self.engine is None else self.engine.dialect

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def cache_key(self) -> str:
        """Changes whenever the data or the roles change: use it to key UI caches."""
        return f"{self.key}:{hash(self.roles)}"

    @property
    def table_sql(self) -> str:
        return quote_ident(self.table)

    def dtype(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.dtype
        raise InsightsError("unknown_column", f"There is no column named {column!r} in {self.source}.")

    def require(self, *roles: Literal["unit", "time", "event", "variant"]) -> None:
        """Raise a one-line error naming the first missing role among ``roles``."""
        labels = {"unit": ("unit id", "--unit-col"), "time": ("timestamp", "--time-col"),
                  "event": ("event name", "--event-col"), "variant": ("variant", "--variant")}
        for role in roles:
            if getattr(self.roles, role) is None:
                label, flag = labels[role]
                raise InsightsError(
                    f"missing_{role}",
                    f"No {label} column was found in {self.source}; choose one in the sidebar or pass {flag}.",
                )

    def time_sql(self, column: str | None = None) -> str:
        """SQL expression giving the time column as TIMESTAMP (NULL where it does not parse)."""
        col = column or self.roles.time
        if col is None:
            raise InsightsError("missing_time", f"No timestamp column was found in {self.source}.")
        q = quote_ident(col)
        unit = self.roles.time_unit if column is None else time_unit_for(self.dtype(col))
        if unit == "epoch_ms":
            return f"epoch_ms(CAST({q} AS BIGINT))"
        if unit == "epoch_s":
            return f"to_timestamp(CAST({q} AS DOUBLE))::TIMESTAMP"
        if unit == "text":
            return text_time_sql(q)
        return f"CAST({q} AS TIMESTAMP)"

    def with_roles(self, **changes: object) -> Dataset:
        """A copy with some roles overridden (the user's choice wins over inference)."""
        roles = dataclasses.replace(self.roles, **changes)  # type: ignore[arg-type]
        for name in (roles.unit, roles.time, roles.event, roles.variant, *roles.dimensions, *roles.metrics):
            if name is not None and name not in self.column_names:
                raise InsightsError("unknown_column", f"There is no column named {name!r} in {self.source}.")
        if "time" in changes and roles.time is not None and "time_unit" not in changes:
            roles = dataclasses.replace(roles, time_unit=time_unit_for(self.dtype(roles.time)))
        taken = {roles.unit, roles.time, roles.event, roles.variant}
        roles = dataclasses.replace(
            roles,
            dimensions=tuple(d for d in roles.dimensions if d not in taken),
            metrics=tuple(m for m in roles.metrics if m not in taken),
        )
        shape: Shape = "event_log" if roles.event and roles.time else "unit_table"
        return dataclasses.replace(self, roles=roles, shape=shape)

    def _on_engine(self, sql: str, params: dict[str, object] | None, *, frame: bool):  # noqa: ANN202
        """Core SQL translated for the dataset's engine; an engine failure becomes one readable line."""
        from insights.engine import translate
        from insights.sql import DIALECT_NAMES

        engine = self.engine
        assert engine is not None
        try:
            text = translate(sql, params, engine.dialect)
            return engine.query_df(text) if frame else engine.query(text)
        except InsightsError:
            raise
        except Exception as exc:  # noqa: BLE001 - drivers raise their own exception types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            label = DIALECT_NAMES.get(engine.dialect, engine.name)
            raise InsightsError("engine_error", f"{label} could not run this analysis: {first}") from exc

    def query(self, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
        """Run core SQL (built by the core, never user text) on a fresh cursor; return all rows."""
        if self.engine is not None:
            return self._on_engine(sql, params, frame=False)
        cur = self.con.cursor()
        try:
            return cur.execute(sql, params or {}).fetchall()
        finally:
            cur.close()

    def query_df(self, sql: str, params: dict[str, object] | None = None):  # noqa: ANN201 - pandas frame
        if self.engine is not None:
            return self._on_engine(sql, params, frame=True)
        cur = self.con.cursor()
        try:
            return cur.execute(sql, params or {}).df()
        finally:
            cur.close()


def time_unit_for(dtype: str) -> Literal["native", "text", "epoch_s", "epoch_ms"]:
    """How a column of this type is read as time; integers default to epoch seconds."""
    upper = dtype.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return "native"
    if is_numeric(upper):
        return "epoch_s"
    return "text"
