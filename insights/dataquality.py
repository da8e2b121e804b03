"""Data-quality checks that would mislead an analyst, as findings (they are counts, not tests).

- Exact duplicate rows: every count, conversion and sum over events is inflated by them.
- Units seen in more than one variant: an experiment that keeps them compares contaminated groups.
- Rows without a unit id: they silently drop out of every unit-level number.

The duplicate count shown reads ``count(*) - count(DISTINCT *)``; it is computed more cheaply, and exactly,
by running the DISTINCT only on rows whose (unit, time) pair is not unique (see
:func:`insights.profile.duplicate_rows_sql`).
"""

from __future__ import annotations

from insights.dataset import Dataset
from insights.findings import ChartData, ChartRow, Finding
from insights.profile import duplicate_rows_sql
from insights.sql import quote_ident
from insights.units import UnitTable


def _finding(kind: str, key: str, subject: str, n_bad: int, n_all: int, sql: str, what: str) -> Finding:
    share = n_bad / n_all if n_all else 0.0
    chart = ChartData("bars", subject, f"share of {what}", (ChartRow(subject, share, group="highlight"),
                                                            ChartRow("fine", 1 - share)), percent=True)
    return Finding(
        kind=kind, metric="", metric_label=what, dimension=None, value=None,  # type: ignore[arg-type]
        direction="higher", subject_mean=share, baseline_mean=0.0, effect=share, rel_effect=float("nan"),
        ci_low=float("nan"), ci_high=float("nan"), p_value=float("nan"), n_units=n_bad, n_baseline=n_all,
        test="count", sql=sql, chart=chart, key=key, subject=subject, terms=(),
    )


def check_data_quality(ds: Dataset, units: UnitTable | None = None) -> list[Finding]:
    """Run the checks and return a finding per fault found.

    ``units``: the per-unit table of the same dataset, when already built (its ``n_variants`` column answers
    the several-variants check without another pass over the rows).
    """
    t = ds.table_sql
    cols = ", ".join(quote_ident(c.name) for c in ds.columns)
    dup_sql = (f"WITH counts AS (SELECT (SELECT count(*) FROM {t}) AS n_rows,\n"
               f"    (SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {t})) AS n_distinct)\n"
               "SELECT n_rows - n_distinct AS n_units, n_rows AS n_baseline,\n"
               "       (n_rows - n_distinct) / n_rows AS subject_mean\nFROM counts")
    out = []
    n_dup, n_rows = ds.query(duplicate_rows_sql(ds))[0]
    if n_dup:
        out.append(_finding("data_quality", "data_quality:duplicate_rows", "exact duplicate rows", int(n_dup),
                            int(n_rows), dup_sql, "rows"))
    r = ds.roles
    if r.unit:
        u = quote_ident(r.unit)
        null_sql = (f"SELECT count(*) FILTER (WHERE {u} IS NULL) AS n_units, count(*) AS n_baseline,\n"
                    f"       count(*) FILTER (WHERE {u} IS NULL) / count(*) AS subject_mean\nFROM {t}")
        n_null, _, _ = ds.query(null_sql)[0]
        if n_null:
            out.append(_finding("data_quality", "data_quality:null_units", f"rows without a {r.unit}", int(n_null),
                                int(n_rows), null_sql, "rows"))
        if r.variant:
            v = quote_ident(r.variant)
            mv_sql = (f"WITH per_unit AS (SELECT {u} AS unit, count(DISTINCT {v}) AS n_variants FROM {t} "
                      f"WHERE {u} IS NOT NULL AND {v} IS NOT NULL GROUP BY 1)\n"
                      "SELECT count(*) FILTER (WHERE n_variants > 1) AS n_units, count(*) AS n_baseline,\n"
                      "       count(*) FILTER (WHERE n_variants > 1) / count(*) AS subject_mean\nFROM per_unit")
            # same numbers as mv_sql: more than one distinct value <=> min <> max (no DISTINCT hash tables)
            fast = (f"SELECT count(*) FILTER (WHERE lo <> hi), count(*) FROM (SELECT min({v}) AS lo, max({v}) AS hi "
                    f"FROM {t} WHERE {u} IS NOT NULL AND {v} IS NOT NULL GROUP BY {u})")
            if units is not None and units.ds.con is ds.con and units.ds.roles == r:
                n_multi, n_units = units.query("SELECT count(*) FILTER (WHERE n_variants > 1), "
                                               "count(*) FILTER (WHERE n_variants >= 1) FROM units")[0]
            else:
                n_multi, n_units = ds.query(fast)[0]
            if n_multi:
                out.append(_finding("experiment_health", "experiment_health:multiple_variants",
                                    f"units seen in more than one {r.variant}", int(n_multi), int(n_units), mv_sql,
                                    "units"))
    return out

