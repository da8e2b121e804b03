"""Validate and run SQL written by a person or an LLM, read-only, on a locked-down DuckDB.

Two independent layers keep such SQL harmless:

1. ``validate_sql`` parses the text with sqlglot (DuckDB dialect) and accepts exactly one
   read-only query: a SELECT or a set operation, optionally with CTEs, over the loaded tables
   only, with known columns and built-in functions. What runs is the SQL that sqlglot
   regenerates from the validated tree (without comments), never the raw text.
2. ``lock_down`` configures the database itself so that even SQL that slipped past validation
   cannot read or write files, reach the network, load extensions or change settings.

``run_safe`` combines both with a time limit and a row limit.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

logger = logging.getLogger(__name__)

DIALECT = "duckdb"

MAX_UNCONDITIONED_JOINS = 3
"""Most comma or CROSS joins without a join condition allowed in one SELECT.

Each such join multiplies the row count; four of them over even a 10,000-row table is 10^20
rows. The time limit is the backstop for anything this check lets through."""

# Statement kinds that are never allowed anywhere in the tree (top level, CTE or subquery).
_FORBIDDEN_NODES: dict[str, str] = {
    "Insert": "INSERT",
    "Update": "UPDATE",
    "Delete": "DELETE",
    "Merge": "MERGE",
    "Create": "CREATE",
    "Drop": "DROP",
    "Alter": "ALTER",
    "TruncateTable": "TRUNCATE",
    "Into": "SELECT ... INTO",
    "Returning": "RETURNING",
    "Pragma": "PRAGMA",
    "Set": "SET",
    "SetItem": "SET",
    "Attach": "ATTACH",
    "Detach": "DETACH",
    "Copy": "COPY",
    "Install": "INSTALL",
    "Export": "EXPORT",
    "LoadData": "LOAD",
    "Transaction": "BEGIN TRANSACTION",
    "Commit": "COMMIT",
    "Rollback": "ROLLBACK",
    "Use": "USE",
    "Describe": "DESCRIBE",
    "Summarize": "SUMMARIZE",
    "Show": "SHOW",
    "Analyze": "ANALYZE",
    "Kill": "KILL",
    "Grant": "GRANT",
    "Revoke": "REVOKE",
    "Refresh": "REFRESH",
    "Cache": "CACHE",
    "Uncache": "UNCACHE",
    "Execute": "EXECUTE",
    "ExecuteSql": "EXECUTE",
    "Secret": "SECRET",
}
_FORBIDDEN_TYPES: tuple[tuple[type[exp.Expression], str], ...] = tuple(
    (getattr(exp, name), label) for name, label in _FORBIDDEN_NODES.items() if hasattr(exp, name)
)

# Statements sqlglot cannot parse at all; named so the user gets a reason, not a parse error.
_FORBIDDEN_KEYWORDS = frozenset(
    {
        "ALTER", "ATTACH", "CALL", "CHECKPOINT", "COPY", "CREATE", "DELETE", "DETACH", "DROP",
        "EXPLAIN", "EXPORT", "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PRAGMA", "RESET",
        "SET", "TRUNCATE", "UPDATE", "USE", "VACUUM",
    }
)  # fmt: skip

# Function names refused even though DuckDB has them: they read files, settings, the
# environment or the catalog, run SQL given as text, change state, or only waste time.
_DENIED_FUNCTIONS = frozenset(
    {
        "current_setting", "current_query", "getenv", "getvariable", "setseed", "nextval",
        "currval", "sleep_ms", "pg_sleep", "write_log", "glob", "sniff_csv", "parquet_scan",
        "query", "query_table", "json_serialize_sql", "json_deserialize_sql",
        "json_serialize_plan", "json_execute_serialized_sql", "iceberg_scan", "delta_scan",
        "sqlite_scan", "postgres_scan", "mysql_scan", "st_read",
    }
)  # fmt: skip
_DENIED_PREFIXES = ("read_", "duckdb_", "pragma_", "parquet_", "__internal")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class UnsafeSQLError(ValueError):
    """SQL that was refused by validation or failed when run.

    Attributes
    ----------
    reason : str
        One line, readable by the person who wrote the SQL, never a traceback.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SafeResult:
    """Rows of a validated query.

    Attributes
    ----------
    sql : str
        The normalised SQL that was validated and run (the row cap is not part of it).
    columns : list[str]
        Output column names, in order.
    rows : list[tuple]
        At most ``max_rows`` rows.
    truncated : bool
        True when the query had more than ``max_rows`` rows.
    elapsed_seconds : float
        Wall-clock time of execution and fetch.
    """

    sql: str
    columns: list[str]
    rows: list[tuple]
    truncated: bool
    elapsed_seconds: float


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def lock_down(
    con: duckdb.DuckDBPyConnection,
    *,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> None:
    """Disable file, network and extension access on ``con``'s database and lock its settings.

    Call it after the user's data is loaded: afterwards no file can be read or written, and
    no setting (this one included) can be changed on any connection to the database.
    ``temp_directory`` and ``memory_limit`` are set first, because DuckDB refuses to change
    the temp directory once external access is off. Calling it again is a no-op.
    """
    locked = con.execute("SELECT current_setting('lock_configuration')").fetchone()
    if locked is not None and locked[0]:
        access = con.execute("SELECT current_setting('enable_external_access')").fetchone()
        if access is not None and not access[0]:
            return
        raise RuntimeError("The database configuration is locked with external access enabled.")
    statements = []
    current = con.execute("SELECT current_setting('temp_directory')").fetchone()
    if temp_directory is not None and (current is None or current[0] != temp_directory):
        # (DuckDB refuses to switch a temp directory it has already spilled to, even to itself)
        statements.append(f"SET temp_directory = {_sql_string(temp_directory)}")
    if memory_limit is not None:
        statements.append(f"SET memory_limit = {_sql_string(memory_limit)}")
    statements += [
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]
    for statement in statements:
        try:
            con.execute(statement)
        except duckdb.Error as error:
            raise ValueError(f"Could not lock down the database ({statement}): {_first_line(error)}") from None


def schema_of(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Tables and views of the main schema: table name -> {column name: DuckDB type}."""
    cursor = con.cursor()
    try:
        rows = cursor.execute(
            """
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns AS c
            JOIN information_schema.tables AS t
              ON t.table_catalog = c.table_catalog
             AND t.table_schema = c.table_schema
             AND t.table_name = c.table_name
            WHERE c.table_schema = 'main'
              AND c.table_catalog = current_database()
              AND t.table_type IN ('BASE TABLE', 'VIEW')
            ORDER BY c.table_name, c.ordinal_position
            """
        ).fetchall()
    finally:
        cursor.close()
    schema: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        schema.setdefault(table, {})[column] = data_type
    return schema


@functools.cache
def _builtin_functions() -> frozenset[str]:
    """Names of DuckDB's built-in scalar, aggregate, window functions and scalar macros.

    Read from a private in-memory database of the same DuckDB build, so the allowlist always
    matches the engine that runs the query; table functions and pragmas are not in it.
    """
    private = duckdb.connect(":memory:")
    try:
        rows = private.execute(
            "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate', 'window', 'macro')"
        ).fetchall()
    finally:
        private.close()
    return frozenset(name for (name,) in rows)


def _first_line(error: BaseException) -> str:
    for line in _ANSI.sub("", str(error)).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def _is_denied(name: str) -> bool:
    return name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES)


def _function_names(node: exp.Func) -> list[str]:
    """The name as written in DuckDB first, then sqlglot's names for the same function."""
    if isinstance(node, exp.Anonymous):
        return [node.name.lower()]
    written = node.sql(dialect=DIALECT, comments=False).split("(")[0].strip().lower()
    return [written, *(name.lower() for name in type(node).sql_names())]


def _reason_for_keyword(sql: str) -> str | None:
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except SqlglotError:
        return None
    if tokens and tokens[0].text.upper() in _FORBIDDEN_KEYWORDS:
        return f"{tokens[0].text.upper()} is not allowed: only a read-only SELECT query is."
    return None


def _parse_one_statement(sql: str) -> exp.Expr:
    if not sql.strip():
        raise UnsafeSQLError("The SQL is empty.")
    try:
        parsed = sqlglot.parse(sql, dialect=DIALECT)
    except SqlglotError as error:
        reason = _reason_for_keyword(sql)
        raise UnsafeSQLError(reason or f"Could not parse the SQL: {_first_line(error)}") from None
    statements = [statement for statement in parsed if statement is not None]
    if not statements:
        raise UnsafeSQLError("The SQL contains no statement, only comments or whitespace.")
    if len(statements) > 1:
        raise UnsafeSQLError(f"Only one SELECT statement is allowed; found {len(statements)} statements.")
    return statements[0]


def _check_statement_kinds(tree: exp.Expr, sql: str) -> None:
    for node in tree.walk():
        for node_type, label in _FORBIDDEN_TYPES:
            if isinstance(node, node_type):
                raise UnsafeSQLError(f"{label} is not allowed: only a read-only SELECT query is.")
        if isinstance(node, exp.Command):
            keyword = str(node.this).split()[0].upper() if str(node.this).strip() else "This"
            raise UnsafeSQLError(f"{keyword} is not allowed: only a read-only SELECT query is.")
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise UnsafeSQLError("Query parameters ($1, ?) are not supported; write the values.")
    top = tree.this if isinstance(tree, exp.Subquery) else tree
    if not isinstance(top, (exp.Select, exp.SetOperation)):
        first_word = sql.split()[0].upper() if sql.split() else ""
        raise UnsafeSQLError(
            f'Only a read-only SELECT query is allowed; a statement starting with "{first_word}" is not one.'
        )


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _looks_like_path(name: str) -> bool:
    return any(mark in name for mark in ("/", "\\", ".", ":", "*", "~"))


def _check_tables(tree: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> None:
    known = {name.lower() for name in schema}
    ctes = _cte_names(tree)
    known_text = ", ".join(sorted(schema)) or "none"
    for func in tree.find_all(exp.Func):
        if isinstance(func.parent, (exp.Table, exp.Lateral, exp.From, exp.Join)) and not isinstance(func, exp.Unnest):
            name = _function_names(func)[0]
            raise UnsafeSQLError(
                f"Table functions such as {name}() are not allowed; query the loaded tables only ({known_text})."
            )
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        name = table.name
        if table.args.get("catalog") or (table.db and table.db.lower() != "main"):
            raise UnsafeSQLError(
                f'Qualified table name "{table.sql(dialect=DIALECT)}" is not allowed; '
                f"use one of the loaded tables ({known_text})."
            )
        if name.lower() in known or (not table.db and name.lower() in ctes):
            continue
        if _looks_like_path(name):
            raise UnsafeSQLError(
                f'Reading files or URLs such as "{name}" is not allowed; query the loaded tables only ({known_text}).'
            )
        raise UnsafeSQLError(f'Unknown table "{name}" (known tables: {known_text}).')


def _check_functions(tree: exp.Expr) -> None:
    builtins = _builtin_functions()
    for func in tree.find_all(exp.Func):
        names = _function_names(func)
        if isinstance(func, (exp.ReadCSV, exp.ReadParquet)) or any(map(_is_denied, names)):
            raise UnsafeSQLError(
                f"The function {names[0]}() is not allowed: it can read files, settings or "
                "system state, or run other SQL."
            )
        if isinstance(func, exp.Anonymous) and names[0] not in builtins:
            raise UnsafeSQLError(
                f'Unknown function "{func.name}()"; only DuckDB built-in scalar, aggregate '
                "and window functions are allowed."
            )


def _linked_in_where(select: exp.Select, alias: str) -> bool:
    where = select.args.get("where")
    if where is None:
        return False
    comparisons = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.NullSafeEQ)
    for predicate in where.find_all(*comparisons):
        tables = {column.table.lower() for column in predicate.find_all(exp.Column) if column.table}
        if alias in tables and len(tables) >= 2:
            return True
    return False


def _check_cartesian(tree: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> None:
    known = {name.lower() for name in schema}
    for select in tree.find_all(exp.Select):
        from_ = select.args.get("from_") or select.args.get("from")
        joins = select.args.get("joins") or []
        if from_ is None or not joins:
            continue
        seen = [from_.this]
        unconditioned = 0
        for join in joins:
            source = join.this
            conditioned = (
                join.args.get("on") is not None
                or join.args.get("using")
                or (join.method or "").upper() in ("NATURAL", "POSITIONAL", "ASOF")
                or isinstance(source, (exp.Unnest, exp.Lateral))
                or _linked_in_where(select, source.alias_or_name.lower())
            )
            if not conditioned:
                unconditioned += 1
                name = source.name.lower() if isinstance(source, exp.Table) else ""
                if name in known and any(isinstance(other, exp.Table) and other.name.lower() == name for other in seen):
                    raise UnsafeSQLError(
                        f'The query joins table "{source.name}" with itself without a join condition, '
                        "a cartesian product with (row count)² rows; add an ON condition."
                    )
            seen.append(source)
        if unconditioned > MAX_UNCONDITIONED_JOINS:
            raise UnsafeSQLError(
                f"The query has {unconditioned} joins without join conditions (at most "
                f"{MAX_UNCONDITIONED_JOINS} allowed); the cartesian product would be huge. "
                "Add ON conditions."
            )


def _sqlglot_schema(schema: Mapping[str, Mapping[str, str]]) -> dict[str, object]:
    """The schema for sqlglot; types it cannot parse become UNKNOWN (names are what matter)."""
    converted: dict[str, object] = {}
    for table, columns in schema.items():
        converted_columns: dict[str, str] = {}
        converted[table] = converted_columns
        for column, data_type in columns.items():
            try:
                exp.DataType.build(data_type, dialect=DIALECT)
            except (SqlglotError, ValueError):
                data_type = "UNKNOWN"
            converted_columns[column] = data_type
    return converted


def _source_columns(source: object, schema: Mapping[str, Mapping[str, str]]) -> list[str]:
    if isinstance(source, exp.Table):
        for table, columns in schema.items():
            if table.lower() == source.name.lower():
                return list(columns)
        return []
    if isinstance(source, Scope):
        query = source.expression
        return list(query.named_selects) if isinstance(query, exp.Query) else []
    return []


def _known_columns_text(names: Iterable[str]) -> str:
    unique = list(dict.fromkeys(names))
    shown = ", ".join(unique[:30]) + (", ..." if len(unique) > 30 else "")
    return shown or "none"


def _check_columns(tree: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> None:
    try:
        qualified = qualify(
            tree.copy(),
            dialect=DIALECT,
            schema=_sqlglot_schema(schema),
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
    except OptimizeError as error:
        message = _first_line(error)
        match = re.match(r"Unknown column: (.+)", message)
        if match:
            referenced = {table.name.lower() for table in tree.find_all(exp.Table)}
            names = [c for t, cols in schema.items() if t.lower() in referenced for c in cols]
            raise UnsafeSQLError(
                f'Unknown column "{match.group(1)}" (known columns: {_known_columns_text(names)}).'
            ) from None
        raise UnsafeSQLError(f"Could not resolve the query's columns: {message}") from None
    for scope in traverse_scope(qualified):
        if not isinstance(scope.expression, exp.Select):
            continue
        available = {alias.lower(): _source_columns(source, schema) for alias, source in scope.sources.items()}
        all_names = [name for names in available.values() for name in names]
        external = [] if scope.is_correlated_subquery or scope.pivots else scope.external_columns
        for column in [*external, *scope.unqualified_columns]:
            if column.table:
                raise UnsafeSQLError(
                    f'Unknown table or alias "{column.table}" in "{column.sql(dialect=DIALECT)}" '
                    f"(known: {_known_columns_text(scope.sources)})."
                )
            owners = [
                alias for alias, names in available.items() if column.name.lower() in (name.lower() for name in names)
            ]
            if len(owners) > 1:
                raise UnsafeSQLError(
                    f'Column "{column.name}" is ambiguous: it is in {", ".join(owners)}; prefix it with a table alias.'
                )
            raise UnsafeSQLError(f'Unknown column "{column.name}" (known columns: {_known_columns_text(all_names)}).')


def validate_sql(sql: str, schema: Mapping[str, Mapping[str, str]]) -> str:
    """Return ``sql`` normalised by sqlglot (DuckDB dialect) if it is one safe read-only query.

    Raises
    ------
    UnsafeSQLError
        With a one-line ``reason`` naming the first rule the SQL breaks.
    """
    tree = _parse_one_statement(sql)
    _check_statement_kinds(tree, sql)
    _check_tables(tree, schema)
    _check_functions(tree)
    _check_cartesian(tree, schema)
    _check_columns(tree, schema)
    return tree.sql(dialect=DIALECT, comments=False)


def _capped(sql: str, max_rows: int) -> str:
    """The query with LIMIT max_rows + 1, unless it already has a smaller literal limit."""
    tree = sqlglot.parse_one(sql, dialect=DIALECT)
    limit = tree.args.get("limit")
    cap = max_rows + 1
    if limit is not None:
        value = limit.expression
        if not (isinstance(value, exp.Literal) and value.is_int and int(value.this) > cap):
            return sql
    tree.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
    return tree.sql(dialect=DIALECT, comments=False)


def run_safe(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    *,
    timeout_seconds: float = 10.0,
    max_rows: int = 10_000,
) -> SafeResult:
    """Validate ``sql`` against ``con``'s tables and run it on a separate cursor.

    The query is interrupted after ``timeout_seconds``; at most ``max_rows`` rows are returned
    and ``truncated`` says whether there were more. Every refusal or failure, including
    DuckDB errors and the time limit, is an ``UnsafeSQLError`` with a one-line reason.
    """
    normalised = validate_sql(sql, schema_of(con))
    to_run = _capped(normalised, max_rows)
    cursor = con.cursor()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        cursor.interrupt()

    timer = threading.Timer(timeout_seconds, stop)
    started = time.perf_counter()
    timer.start()
    try:
        cursor.execute(to_run)
        columns = [description[0] for description in cursor.description or []]
        rows = cursor.fetchmany(max_rows + 1)
    except duckdb.Error as error:
        if timed_out.is_set():
            raise UnsafeSQLError(f"The query was stopped at the time limit of {timeout_seconds:g} seconds.") from None
        raise UnsafeSQLError(f"DuckDB could not run the query: {_first_line(error)}") from None
    finally:
        timer.cancel()
        cursor.close()
    elapsed = time.perf_counter() - started
    logger.debug("ran validated SQL in %.3f s: %s", elapsed, normalised)
    return SafeResult(
        sql=normalised,
        columns=columns,
        rows=rows[:max_rows],
        truncated=len(rows) > max_rows,
        elapsed_seconds=elapsed,
    )
