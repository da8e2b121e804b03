"""Profile a loaded dataset: sizes, time range, per-column facts and data-quality warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from insights.dataset import Dataset, Role
from insights.schema import COLUMNS_PER_SCAN, MAX_DIMENSION_VALUES
from insights.sql import quote_ident

SAMPLE_VALUES = 3


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One column as the Data page and ``insights profile`` show it.

    null_rate
        Share of rows where the column is NULL (0-1).
    n_distinct
        Exact number of distinct non-NULL values.
    samples
        A few of the most common values, as text.
    """

    name: str
    role: Role
    dtype: str
    null_rate: float
    n_distinct: int
    samples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DataWarning:
    """A data-quality problem that would mislead an analyst. ``code`` is stable; ``message`` is one sentence."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Profile:
    """The profile of a dataset under its current roles (keys mirror the CLI's JSON contract)."""

    source: str
    shape: str
    n_rows: int
    n_units: int | None
    time_min: dt.datetime | None
    time_max: dt.datetime | None
    roles: dict[str, str | None]
    columns: tuple[ColumnProfile, ...]
    warnings: tuple[DataWarning, ...]


def _as_text(ds: Dataset, name: str, dtype: str) -> str:
    """A value as DuckDB writes it. Other engines write whole floats differently (PostgreSQL ``12`` for 12.0,
    Spark ``1.0E7``): those are written as DuckDB does, ``12.0`` and ``10000000.0``."""
    q = quote_ident(name)
    if ds.dialect != "duckdb" and dtype.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN {q} = floor({q}) AND abs({q}) < 1e15 THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) || '.0' "
                f"ELSE CAST({q} AS VARCHAR) END")
    return f"CAST({q} AS VARCHAR)"


def duplicate_rows_sql(ds: Dataset) -> str:
    """Duplicate rows and all rows, exactly, with a DISTINCT over all columns of few rows only.

    Identical rows share their unit and time, so only rows whose hash of (unit, time) occurs more than once
    can be duplicates (a hash collision only adds rows to check); the exact DISTINCT runs on those. Without
    both roles, and on other engines: DISTINCT on all rows.
    """
    t, r = ds.table_sql, ds.roles
    cols = ", ".join(quote_ident(c.name) for c in ds.columns)
    if not (r.unit and r.time) or ds.dialect != "duckdb":
        # other engines have no hash() that agrees with DuckDB's, and a join on the shared (unit, time) pairs
        # that must match NULLs is not hashable there: one exact DISTINCT over all rows instead
        return f"SELECT (SELECT count(*) FROM {t}) - (SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {t})), " \
               f"(SELECT count(*) FROM {t})"
    u, ts = quote_ident(r.unit), quote_ident(r.time)
    return (f"WITH shared AS (SELECT hash({u}, {ts}) AS h FROM {t} GROUP BY h HAVING count(*) > 1),\n"
            f"suspects AS (SELECT {cols} FROM {t} WHERE hash({u}, {ts}) IN (SELECT h FROM shared))\n"
            "SELECT (SELECT count(*) FROM suspects) - (SELECT count(*) FROM (SELECT DISTINCT * FROM suspects)),\n"
            f"       (SELECT count(*) FROM {t})")


def _column_profiles(ds: Dataset, n_rows: int) -> list[ColumnProfile]:
    t = ds.table_sql
    counts: list[int] = []
    for start in range(0, len(ds.columns), COLUMNS_PER_SCAN):
        chunk = ds.columns[start:start + COLUMNS_PER_SCAN]
        parts = [f"count({quote_ident(c.name)}), count(DISTINCT {quote_ident(c.name)})" for c in chunk]
        counts.extend(ds.query(f"SELECT {', '.join(parts)} FROM {t}")[0])
    out = []
    for i, c in enumerate(ds.columns):
        q = quote_ident(c.name)
        samples = ds.query(
            f"SELECT {_as_text(ds, c.name, c.dtype)} AS v FROM {t} WHERE {q} IS NOT NULL GROUP BY 1 "
            f"ORDER BY count(*) DESC, 1 LIMIT {SAMPLE_VALUES}"
        )
        nonnull, distinct = counts[2 * i], counts[2 * i + 1]
        null_rate = (n_rows - nonnull) / n_rows if n_rows else 0.0
        out.append(ColumnProfile(c.name, ds.roles.role_of(c.name), c.dtype, null_rate, int(distinct),
                                 tuple(str(r[0])[:80] for r in samples)))
    return out


def _warnings(ds: Dataset, columns: list[ColumnProfile], n_rows: int) -> list[DataWarning]:
    t, r = ds.table_sql, ds.roles
    found = [DataWarning(code, msg) for code, msg in ds.load_notes]
    if r.unit:
        u = quote_ident(r.unit)
        n_null = ds.query(f"SELECT count(*) FROM {t} WHERE {u} IS NULL")[0][0]
        if n_null:
            found.append(DataWarning("null_units", f"{n_null:,} rows have no unit id ({r.unit} is NULL); they are "
                                     "left out of unit counts and analyses."))
        if r.variant:
            v = quote_ident(r.variant)
            multi = ds.query(f"SELECT count(*) FROM (SELECT {u} FROM {t} WHERE {u} IS NOT NULL AND {v} IS NOT NULL "
                             f"GROUP BY {u} HAVING count(DISTINCT {v}) > 1)")[0][0]
            if multi:
                found.append(DataWarning("multiple_variants", f"{multi:,} units appear in more than one {r.variant}; "
                                         "experiment analyses exclude them."))
        if ds.shape == "unit_table":
            dup_units = ds.query(f"SELECT count(*) - count(DISTINCT {u}) FROM {t} WHERE {u} IS NOT NULL")[0][0]
            if dup_units:
                found.append(DataWarning("duplicate_units", f"{dup_units:,} rows repeat a unit id already seen in "
                                         "this unit table; analyses keep each unit's first row."))
    dup_rows = ds.query(duplicate_rows_sql(ds))[0][0]
    if dup_rows:
        found.append(DataWarning("duplicate_rows", f"{dup_rows:,} rows are exact duplicates of another row."))
    if r.time and r.time_unit == "text":
        tq = quote_ident(r.time)
        bad = ds.query(f"SELECT count(*) FROM {t} WHERE {tq} IS NOT NULL AND {ds.time_sql()} IS NULL")[0][0]
        if bad:
            found.append(DataWarning("unparsed_timestamps", f"{bad:,} values of {r.time} could not be read as "
                                     "timestamps and are treated as missing."))
    for c in columns:
        if c.role == "other" and c.dtype.upper() == "VARCHAR" and c.n_distinct > MAX_DIMENSION_VALUES:
            found.append(DataWarning("high_cardinality", f"{c.name} has {c.n_distinct:,} distinct values, too many "
                                     "to break results down by; it is not used as a dimension."))
    return found


def profile(ds: Dataset) -> Profile:
    """Measure the dataset: one pass for counts, one per column for sample values, then the warnings."""
    t, r = ds.table_sql, ds.roles
    n_rows = int(ds.query(f"SELECT count(*) FROM {t}")[0][0])
    n_units = int(ds.query(f"SELECT count(DISTINCT {quote_ident(r.unit)}) FROM {t}")[0][0]) if r.unit else None
    time_min = time_max = None
    if r.time:
        time_min, time_max = ds.query(f"SELECT min({ds.time_sql()}), max({ds.time_sql()}) FROM {t}")[0]
    columns = _column_profiles(ds, n_rows)
    return Profile(
        source=ds.source,
        shape=ds.shape,
        n_rows=n_rows,
        n_units=n_units,
        time_min=time_min,
        time_max=time_max,
        roles={"unit": r.unit, "time": r.time, "event": r.event, "variant": r.variant},
        columns=tuple(columns),
        warnings=tuple(_warnings(ds, columns, n_rows)),
    )
