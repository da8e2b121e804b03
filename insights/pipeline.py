"""The top-k insights pipeline: run every analysis, rank the findings, phrase them.

``find_insights(ds, metric)`` runs, on the north-star metric: the segment scan on every dimension (and a
distribution scan when the metric is continuous); on each numeric property of an event log (e.g. revenue),
the segment and distribution scans of its per-unit mean (the average order value); the experiment analysis
and the funnel analysis when the data has a variant or an inferable funnel; a before/after comparison for
each launch date found in the past-initiative docs (or given) inside the data's time range, on the north
star and on the events the doc talks about; and the data-quality checks. Every test goes into one
Benjamini-Hochberg family; :mod:`insights.ranking` then keeps the survivors, prunes redundant stories and
ranks by impact and relevance to the docs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from insights.adapters import experiment_findings, funnel_findings
from insights.dataquality import check_data_quality
from insights.dataset import Dataset
from insights.distributions import fill_medians, scan_distributions
from insights.errors import InsightsError
from insights.findings import Finding
from insights.initiatives import Initiative, launches, load_initiatives, name_relevance
from insights.launch import analyze_launches, data_span, pretrend_pvalue
from insights.metrics import Metric, event_values, parse_metric
from insights.phrasing import statement, unit_noun
from insights.ranking import RankSettings, rank
from insights.segments import ScanSettings, restratified, scan_segments, segment_stats_many
from insights.sql import Dialect, shown_sql
from insights.units import prepare_units

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
PREFERRED_NORTH_STARS = ("purchase", "converted", "conversion", "retention_7", "order")


@dataclass(frozen=True, slots=True)
class InsightsResult:
    """What :func:`find_insights` found.

    metric
        The north-star metric spec.
    tests_run
        Number of statistical tests in the multiple-testing family (shown or not).
    insights
        The top findings, best first, with statement, score and rank explanation.
    all_findings
        Every eligible finding (``insights`` first, then the rest, best first), then every other finding.
    n_eligible
        How many of ``all_findings`` survived the correction and the redundancy pruning.
    fdr
        False discovery rate level of the family.
    docs
        Titles of the initiative documents used.
    dialect, events_name, events_sql
        SQL dialect of the engine that produced the findings, and the view the events were read through with
        its definition (engines only); each finding's ``sql`` is kept in DuckDB's dialect and shown through
        :meth:`sql_of`.
    """

    metric: str
    tests_run: int
    insights: tuple[Finding, ...]
    all_findings: tuple[Finding, ...]
    n_eligible: int
    fdr: float
    docs: tuple[str, ...] = ()
    dialect: Dialect = "duckdb"
    events_name: str | None = None
    events_sql: str | None = None

    def sql_of(self, finding: Finding) -> str:
        """The finding's SQL in the dialect of the engine that produced it, runnable there as it is."""
        return shown_sql(finding.sql, self.dialect, self.events_name, self.events_sql)


def default_metric(ds: Dataset) -> str:
    """A sensible north star when none is given: a purchase-like event or column, else the first one."""
    options = event_values(ds) if ds.shape == "event_log" else list(ds.roles.metrics)
    for preferred in PREFERRED_NORTH_STARS:
        for o in options:
            if o == preferred or o.endswith(preferred):
                return o
    if not options:
        raise InsightsError("no_metric", f"{ds.source} has no event or numeric column to use as the north star.")
    return options[0]


def _docs(docs: Sequence[Initiative] | Sequence[str | Path] | str | Path | None) -> list[Initiative]:
    if docs is None:
        return []
    if isinstance(docs, (str, Path)):
        return load_initiatives([docs])
    items = list(docs)
    if all(isinstance(d, Initiative) for d in items):
        return items  # type: ignore[return-value]
    return load_initiatives([d for d in items if not isinstance(d, Initiative)])  # type: ignore[misc]


def _launch_metrics(ds: Dataset, north: Metric, doc: Initiative | None) -> list[Metric]:
    out = [north]
    if doc is not None and ds.shape == "event_log":
        for e in event_values(ds):
            if e != north.target and name_relevance(e, doc) >= 1.0:
                out.append(Metric("converted", e, True))
    return out


def find_insights(
    ds: Dataset,
    metric: str | Metric | None = None,
    docs: Sequence[Initiative] | Sequence[str | Path] | str | Path | None = None,
    top_k: int = 5,
    progress: Progress | None = None,
    *,
    launch_dates: Sequence[dt.date] = (),
    settings: RankSettings | None = None,
    scan: ScanSettings | None = None,
) -> InsightsResult:
    """Find, test, rank and phrase the top ``top_k`` insights on the north-star ``metric``."""
    say = progress or (lambda fraction, message: None)
    ds.require("unit")
    north = metric if isinstance(metric, Metric) else parse_metric(metric or default_metric(ds), ds)
    initiatives = _docs(docs)
    settings = dataclasses.replace(settings or RankSettings(), top_k=top_k)
    secondary = [Metric("mean", m, False) for m in ds.roles.metrics
                 if ds.shape == "event_log" and m != north.target]
    metrics = [north, *secondary]
    findings: list[Finding] = []
    extra_p: list[float] = []
    say(0.05, "Building one row per unit")
    table = prepare_units(ds, metrics)
    try:
        say(0.3, "Testing every segment against the rest")
        stats = segment_stats_many(table, metrics)
        for m in metrics:
            findings += scan_segments(table, m, stats[m], scan)
            if not m.binary:
                findings += scan_distributions(table, m, scan)
        say(0.45, "Checking experiments and funnels")
        findings += experiment_findings(ds, north, initiatives, table)
        findings += funnel_findings(ds, north, table)
        say(0.65, "Comparing before and after launches")
        dates: list[tuple[dt.date, Initiative | None]] = [
            (d, doc) for d, doc in launches(initiatives) if not (doc.is_experiment and ds.roles.variant)]
        dates += [(d, None) for d in launch_dates]
        span = data_span(ds) if dates and ds.roles.time else None
        for day, doc in dates:
            title = f"{doc.title} ({day.isoformat()})" if doc else f"the launch on {day.isoformat()}"
            for f in analyze_launches(ds, _launch_metrics(ds, north, doc), day, title=title, span=span) \
                    if ds.roles.time else []:
                findings.append(f)
                extra_p.append(pretrend_pvalue(f))
        say(0.8, "Checking data quality")
        findings += check_data_quality(ds, table)
        say(0.85, "Ranking")
        by_metric = {m.name: m for m in metrics}

        def reevaluate(anchors: Sequence[Finding], cands: Sequence[Finding]) -> dict[str, tuple[float, float]]:
            return restratified(table, anchors, cands) if cands and cands[0].metric in by_metric else {}

        ranked = rank(findings, extra_p_values=extra_p, docs=initiatives, settings=settings, reevaluate=reevaluate,
                      common_terms=(north.target,))
        eligible = list(ranked.eligible)
        for m in metrics:
            idx = [i for i, f in enumerate(eligible) if f.kind == "distribution" and f.metric == m.name]
            for i, f in zip(idx, fill_medians(table, m, [eligible[i] for i in idx]), strict=True):
                eligible[i] = f
    finally:
        table.close()
    units = unit_noun(ds.roles.unit)
    eligible = [dataclasses.replace(f, statement=statement(f, units)) for f in eligible]
    keys = {f.key for f in eligible}
    rest = [dataclasses.replace(f, statement=statement(f, units)) for f in ranked.findings if f.key not in keys]
    say(1.0, "Done")
    return InsightsResult(north.name, ranked.tests_run, tuple(eligible[:top_k]), tuple(eligible + rest),
                          len(eligible), settings.fdr, tuple(d.title for d in initiatives), ds.dialect,
                          ds.table, ds.view_sql)


def segment_tests(ds: Dataset, metric: str | Metric | None = None) -> tuple[str, list[Finding]]:
    """Every segment-vs-rest test on ``metric`` with BH-adjusted p-values over these tests, smallest p first."""
    ds.require("unit")
    m = metric if isinstance(metric, Metric) else parse_metric(metric or default_metric(ds), ds)
    table = prepare_units(ds, [m])
    try:
        found = scan_segments(table, m)
    finally:
        table.close()
    from insights.ranking import adjust

    adjusted, _, _ = adjust(found)
    units = unit_noun(ds.roles.unit)
    out = [dataclasses.replace(f, statement=statement(f, units)) for f in adjusted]
    return m.name, sorted(out, key=lambda f: (f.p_value, f.key))
