"""Distribution shifts of a continuous metric: each segment against the rest of the units.

The test is the Mann-Whitney U test (two-sided, normal approximation with the tie correction, no continuity
correction) on the metric coarsened to the pooled sample's quantile bins (``N_BINS`` bins; equal edges
merge, so a metric that is mostly 0 keeps a single 0 bin). The bins are one monotone function of the value
applied to every unit whatever its segment, so under the null hypothesis (segment and rest exchangeable)
the binned values are exchangeable too and the test keeps its level; only its power drops a little against
the test on raw values. SQL returns the count of units per (segment, bin): U is computed from those counts
(ties within a bin get half credit), so raw values never reach Python. The finding's main number is the
median shift; the mean shift and P(segment > rest) are kept as details.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from insights.findings import ChartData, ChartRow, Finding, direction_of, relative
from insights.metrics import Metric
from insights.segments import ScanSettings
from insights.units import UnitTable, segment_filter

N_BINS = 20
NAN = math.nan


@dataclass(frozen=True, slots=True)
class MannWhitney:
    """Mann-Whitney U from binned counts.

    u
        U statistic of the first group (ties count one half).
    prob_greater
        ``u / (n1 n2)``: P(first > second) + P(tie) / 2.
    p_value
        Two-sided p-value (normal approximation, tie-corrected variance).
    """

    u: float
    prob_greater: float
    p_value: float


def mann_whitney_binned(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray) -> MannWhitney:
    """Mann-Whitney U test of two groups given their counts per ordered bin (equal values share a bin)."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    n1, n2 = a.sum(), b.sum()
    if n1 < 1 or n2 < 1:
        return MannWhitney(NAN, NAN, NAN)
    below_b = np.concatenate([[0.0], np.cumsum(b)[:-1]])
    u = float(np.sum(a * (below_b + b / 2.0)))
    n = n1 + n2
    t = a + b
    var = n1 * n2 / 12.0 * ((n + 1) - float(np.sum(t**3 - t)) / (n * (n - 1)))
    if var <= 0:
        return MannWhitney(u, u / (n1 * n2), NAN)
    z = (u - n1 * n2 / 2.0) / math.sqrt(var)
    return MannWhitney(u, u / (n1 * n2), float(2 * sps.norm.sf(abs(z))))


def _bin_sql(col: str, edges: Sequence[float]) -> str:
    if not edges:
        return "0"
    return " + ".join(f"CAST({col} > {float(e)!r} AS INTEGER)" for e in edges)


def distribution_body(table: UnitTable, metric_col: str, dim: str, value: str) -> str:
    """SQL on ``units`` returning the numbers of a distribution finding."""
    cond = segment_filter(table, dim, value)
    return (f"WITH seg AS (SELECT {cond} AS in_segment, {metric_col} AS y FROM units WHERE {metric_col} IS NOT NULL)\n"
            "SELECT count(*) FILTER (WHERE in_segment) AS n_units,\n"
            "       count(*) FILTER (WHERE NOT in_segment) AS n_baseline,\n"
            "       median(y) FILTER (WHERE in_segment) AS subject_mean,\n"
            "       median(y) FILTER (WHERE NOT in_segment) AS baseline_mean,\n"
            "       median(y) FILTER (WHERE in_segment) - median(y) FILTER (WHERE NOT in_segment) AS effect,\n"
            "       avg(y) FILTER (WHERE in_segment) - avg(y) FILTER (WHERE NOT in_segment) AS mean_shift\n"
            "FROM seg")


def scan_distributions(table: UnitTable, metric: Metric, settings: ScanSettings | None = None) -> list[Finding]:
    """Mann-Whitney test of every (dimension, value) against the rest; one finding per test."""
    settings = settings or ScanSettings()
    col = table.metric_col(metric)
    probs = [round((i + 1) / N_BINS, 6) for i in range(N_BINS - 1)]
    row = table.query(f"SELECT quantile_cont({col}, {probs}) FROM units WHERE {col} IS NOT NULL")
    edges = sorted({float(e) for e in (row[0][0] or []) if e is not None})
    dims = list(table.dimensions)
    if not dims:
        return []
    n_bins = len(edges) + 1
    seg = ", ".join(f"{table.segment_sql(d)} AS s{i}" for i, d in enumerate(dims))
    groups = ", ".join([f"(s{i}, b)" for i in range(len(dims))] + ["(b)"])
    flags = ", ".join(f"grouping(s{i})" for i in range(len(dims)))
    svals = ", ".join(f"s{i}" for i in range(len(dims)))
    sql = (f"WITH seg AS (SELECT {seg}, {col} AS y, {_bin_sql(col, edges)} AS b FROM units WHERE {col} IS NOT NULL)\n"
           f"SELECT {flags}, {svals}, b, count(*), sum(y) FROM seg GROUP BY GROUPING SETS ({groups})")
    nd = len(dims)
    total = np.zeros(n_bins)
    total_sum = 0.0
    counts: dict[tuple[str, str], np.ndarray] = {}
    sums: dict[tuple[str, str], float] = {}
    for r in table.query(sql):
        grouped = [i for i in range(nd) if r[i] == 0]
        b, n, s = int(r[2 * nd]), float(r[2 * nd + 1]), float(r[2 * nd + 2] or 0.0)
        if not grouped:
            total[b] += n
            total_sum += s
            continue
        key = (dims[grouped[0]], str(r[nd + grouped[0]]))
        counts.setdefault(key, np.zeros(n_bins))[b] += n
        sums[key] = sums.get(key, 0.0) + s
    mids = _bin_labels(edges)
    out: list[Finding] = []
    for dim in dims:
        keys = sorted((k for k in counts if k[0] == dim), key=lambda k: -counts[k].sum())
        if len(keys) < 2:
            continue
        for key in keys[: settings.max_values]:
            a = counts[key]
            rest = total - a
            n1, n2 = int(a.sum()), int(rest.sum())
            if n1 < settings.min_units or n2 < settings.min_units:
                continue
            mw = mann_whitney_binned(a, rest)
            if math.isnan(mw.p_value):
                continue
            mean_shift = sums[key] / n1 - (total_sum - sums[key]) / n2
            chart = ChartData("histogram", f"{metric.label}: {dim} = {key[1]} against the rest", "share of units",
                              tuple([ChartRow(mids[i], float(a[i] / n1), group=f"{dim} = {key[1]}")
                                     for i in range(n_bins)]
                                    + [ChartRow(mids[i], float(rest[i] / n2), group="rest") for i in range(n_bins)]),
                              metric.label, percent=True)
            out.append(Finding(
                kind="distribution", metric=metric.name, metric_label=metric.label, dimension=dim, value=key[1],
                direction=direction_of(mw.prob_greater - 0.5), subject_mean=NAN, baseline_mean=NAN,
                effect=NAN, rel_effect=NAN, ci_low=NAN, ci_high=NAN, p_value=mw.p_value, n_units=n1,
                n_baseline=n2, test="Mann-Whitney U test on quantile bins",
                sql=table.display_sql(metric, [dim], distribution_body(table, "m0", dim, key[1])), chart=chart,
                key=f"distribution:{metric.name}:{dim}={key[1]}", terms=(dim, key[1]),
                details=(("mean_shift", mean_shift), ("prob_greater", mw.prob_greater)),
            ))
    return out


def fill_medians(table: UnitTable, metric: Metric, findings: Sequence[Finding]) -> list[Finding]:
    """Fill the medians (subject, rest) and median shift of distribution findings, in one query."""
    import dataclasses

    if not findings:
        return []
    col = table.metric_col(metric)
    parts = []
    for f in findings:
        cond = segment_filter(table, f.dimension or "", f.value or "")
        parts += [f"median({col}) FILTER (WHERE {cond})", f"median({col}) FILTER (WHERE NOT ({cond}))"]
    row = table.query(f"SELECT {', '.join(parts)} FROM units WHERE {col} IS NOT NULL")[0]
    out = []
    for i, f in enumerate(findings):
        seg_med, rest_med = float(row[2 * i]), float(row[2 * i + 1])
        eff = seg_med - rest_med
        out.append(dataclasses.replace(f, subject_mean=seg_med, baseline_mean=rest_med, effect=eff,
                                       rel_effect=relative(eff, rest_med)))
    return out


def _bin_labels(edges: Sequence[float]) -> list[str]:
    if not edges:
        return ["all"]
    labels = [f"<= {edges[0]:,.4g}"]
    labels += [f"{lo:,.4g} to {hi:,.4g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*labels, f"> {edges[-1]:,.4g}"]
