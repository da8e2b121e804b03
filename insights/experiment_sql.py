"""SQL for experiment analysis: sufficient statistics per variant, per segment and per day.

Builders are pure ``build_*_sql(...) -> StatsQuery``; nothing here runs SQL. The statistics query wraps
:func:`insights.metrics.build_units_sql` (one row per unit) and returns, per group, only ``n``, sums and
sums of squares (plus the CUPED cross-products), so raw rows never leave the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from insights.dataset import Dataset
from insights.metrics import Metric, build_units_sql
from insights.sql import quote_ident

STATUS_OK = "ok"
STATUS_MULTI = "multiple_variants"
STATUS_NULL = "null_variant"
LEVEL_VARIANT = "variant"
LEVEL_SEGMENT = "segment"
LEVEL_DAY = "day"
MISSING_SEGMENT = "(missing)"


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """A statistics query and how to read its rows.

    Attributes
    ----------
    sql, params : str, dict
        DuckDB SQL with ``$name`` bound parameters.
    n_metrics : int
        Metrics ``i = 0..n_metrics-1``; each has output columns ``n{i}``, ``s{i}``, ``q{i}`` (count of
        non-NULL values, sum, sum of squares) and, with a covariate, ``xs{i}``, ``xq{i}``, ``xy{i}``
        (sum and sum of squares of the pre-exposure value and the cross-product, over the same units).
    has_covariate : bool
        True when the query carries the CUPED covariate columns.
    has_day : bool
        True when rows with ``level = 'day'`` (by day of exposure, or first seen) are present.

    Output columns: ``level`` ('variant', 'segment' or 'day'), ``status`` ('ok', 'multiple_variants',
    'null_variant'), ``variant`` (text), ``segment`` (text, '(missing)' for NULL), ``day`` (DATE),
    ``n_units``, then the per-metric columns.
    """

    sql: str
    params: dict[str, Any]
    n_metrics: int
    has_covariate: bool
    has_day: bool


def build_stats_sql(
    ds: Dataset,
    metrics: Sequence[Metric],
    *,
    exposure_event: str | None = None,
    segment: str | None = None,
    covariate: bool = False,
    cap_percentile: float | None = None,
    by_day: bool = True,
    row_filter: str | None = None,
    row_filter_params: Mapping[str, Any] | None = None,
    packed: bool = False,
) -> StatsQuery:
    """Sufficient statistics per (status, variant), per (status, variant, segment) and per (status, variant, day).

    ``covariate`` adds each metric measured before exposure (same pass; needs an event log and an
    exposure event) as the CUPED covariate, 0 for units with no pre-exposure activity. ``cap_percentile``
    (e.g. 0.99) winsorizes the per-unit values of non-binary metrics (and their covariates) at that
    percentile of the units analysed, pooled across variants. Units with a NULL variant or seen in several
    variants get their own ``status`` so they can be counted and excluded; caps use only ``status = 'ok'``.
    ``packed``: the faster form of the per-unit query (DuckDB only; see :func:`insights.metrics.build_units_sql`).
    """
    ds.require("unit", "variant")
    dims = (segment,) if segment else ()
    use_x = covariate and exposure_event is not None and ds.shape == "event_log"
    post = build_units_sql(
        ds, metrics, dims, exposure_event=exposure_event,
        period="post" if exposure_event else "all", row_filter=row_filter, param_prefix="u", covariate=use_x,
        packed=packed,
    )
    params: dict[str, Any] = {**post.params, **(row_filter_params or {})}
    ctes = [f"units AS (\n{post.sql}\n)"]
    has_time = ds.roles.time is not None
    has_day = by_day and has_time
    when = "exposed_at" if exposure_event and ds.shape == "event_log" else "first_seen"

    cols = [
        "CASE WHEN u.variant IS NULL THEN 'null_variant' WHEN u.n_variants > 1 THEN 'multiple_variants' "
        "ELSE 'ok' END AS status",
        "CAST(u.variant AS VARCHAR) AS variant",
    ]
    if segment:
        seg = f"u.{quote_ident(segment)}"
        cols.append(f"coalesce(CAST({seg} AS VARCHAR), '{MISSING_SEGMENT}') AS segment")
    else:
        cols.append("'(all)' AS segment")
    cols.append(f"CAST(u.{when} AS DATE) AS day" if has_day else "CAST(NULL AS DATE) AS day")
    for i in range(len(metrics)):
        y, x = f"CAST(u.m{i} AS DOUBLE)", f"CAST(coalesce(u.x{i}, 0) AS DOUBLE)"
        cols.append(f"{y} AS y{i}")
        if use_x:
            cols.append(f"CASE WHEN u.m{i} IS NOT NULL THEN {x} END AS x{i}")
    capped = [i for i, m in enumerate(metrics) if cap_percentile is not None and not m.binary]
    materialized = " MATERIALIZED" if capped else ""
    ctes.append(f"base AS{materialized} (\nSELECT {', '.join(cols)}\nFROM units AS u\n)")
    if capped:
        params["cap_pct"] = float(cap_percentile)  # type: ignore[arg-type]
        caps = [f"quantile_cont(y{i}, $cap_pct) AS cy{i}" for i in capped]
        caps += [f"quantile_cont(x{i}, $cap_pct) AS cx{i}" for i in capped if use_x]
        ctes.append(f"caps AS (SELECT {', '.join(caps)} FROM base WHERE status = 'ok')")

    def value(kind: str, i: int) -> str:
        return f"least({kind}{i}, caps.c{kind}{i})" if i in capped else f"{kind}{i}"

    inner = ["status", "variant", "segment", "day"]
    for i in range(len(metrics)):
        inner.append(f"{value('y', i)} AS y{i}")
        if use_x:
            inner.append(f"{value('x', i)} AS x{i}")
    cross = ", caps" if capped else ""
    ctes.append(f"vals AS (\nSELECT {', '.join(inner)}\nFROM base{cross}\n)")

    aggs = ["count(*) AS n_units"]
    for i in range(len(metrics)):
        aggs += [f"count(y{i}) AS n{i}", f"coalesce(sum(y{i}), 0) AS s{i}", f"coalesce(sum(y{i} * y{i}), 0) AS q{i}"]
        if use_x:
            aggs += [f"coalesce(sum(x{i}), 0) AS xs{i}", f"coalesce(sum(x{i} * x{i}), 0) AS xq{i}",
                     f"coalesce(sum(x{i} * y{i}), 0) AS xy{i}"]
    sets = ["(status, variant)"]
    if segment:
        sets.append("(status, variant, segment)")
    if has_day:
        sets.append("(status, variant, day)")
    whens = ([f"WHEN grouping(segment) = 0 THEN '{LEVEL_SEGMENT}'"] if segment else []) + (
        [f"WHEN grouping(day) = 0 THEN '{LEVEL_DAY}'"] if has_day else [])
    level = f"CASE {' '.join(whens)} ELSE '{LEVEL_VARIANT}' END" if whens else f"'{LEVEL_VARIANT}'"
    seg_out = "segment" if segment else "CAST(NULL AS VARCHAR) AS segment"
    day_out = "day" if has_day else "CAST(NULL AS DATE) AS day"
    sql = (
        "WITH " + ",\n".join(ctes)
        + f"\nSELECT {level} AS level, status, variant, {seg_out}, {day_out}, {', '.join(aggs)}"
        + f"\nFROM vals\nGROUP BY GROUPING SETS ({', '.join(sets)})\nORDER BY level, status, variant, segment, day"
    )
    return StatsQuery(sql, params, len(metrics), use_x, has_day)
