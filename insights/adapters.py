"""Turn the experiment and funnel analyses' results into findings for the ranking.

Experiment: :func:`insights.experiment.analyze_experiment` on the north star (exposure event when the log
has one, no CUPED so that the finding's numbers are the plain means its SQL reproduces), overall and broken
down by each dimension whose values an experiment doc talks about (e.g. "mobile" -> device). Every
comparison is a test in the family (the raw p-value; the experiment's own adjustment is not reused). The
sample ratio check becomes an ``experiment_health`` finding when it is flagged. Units seen in more than
one variant are reported by :mod:`insights.dataquality`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from insights.dataset import Dataset
from insights.findings import ChartData, ChartRow, Finding, direction_of
from insights.initiatives import Initiative, name_relevance
from insights.metrics import Metric, build_units_sql, event_values
from insights.sql import inline_params, quote_ident, quote_literal
from insights.units import UNITS_TABLE, UnitTable, segment_dimensions

EXPOSURE_WORDS = ("exposure", "exposed", "assign", "enrol", "enroll")


def exposure_event(ds: Dataset) -> str | None:
    """The event that marks entry into the experiment, if the log has one."""
    if ds.shape != "event_log":
        return None
    return next((e for e in event_values(ds) if any(w in e.lower() for w in EXPOSURE_WORDS)), None)


def _breakdown_dims(ds: Dataset, docs: Sequence[Initiative], units: UnitTable | None = None) -> list[str]:
    """Dimensions whose values an experiment doc talks about (read from the per-unit table when given)."""
    exp_docs = [d for d in docs if d.is_experiment]
    if not exp_docs:
        return []
    out = []
    for dim in segment_dimensions(ds):
        q = quote_ident(dim)
        if units is not None and dim in units.dimensions:  # first-touch values: the ones a breakdown can show
            rows = units.query(f"SELECT DISTINCT {q} FROM {UNITS_TABLE} WHERE {q} IS NOT NULL LIMIT 50")
        else:
            rows = ds.query(f"SELECT DISTINCT {q} FROM {ds.table_sql} WHERE {q} IS NOT NULL LIMIT 50")
        if any(name_relevance(str(r[0]), d) >= 1.0 for r in rows for d in exp_docs):
            out.append(dim)
    return out


def _experiment_sql(ds: Dataset, north: Metric, exposure: str | None, control: str, variant: str,
                    dim: str | None, value: str | None) -> str:
    uq = build_units_sql(ds, [north], [dim] if dim else [], exposure_event=exposure,
                         period="post" if exposure else "all")
    where = "n_variants = 1"
    if dim:
        where += f" AND coalesce(CAST({quote_ident(dim)} AS VARCHAR), '(missing)') = {quote_literal(value)}"
    v, c = quote_literal(variant), quote_literal(control)
    body = (f"SELECT count(*) FILTER (WHERE variant = {v}) AS n_units,\n"
            f"       count(*) FILTER (WHERE variant = {c}) AS n_baseline,\n"
            f"       avg(m0) FILTER (WHERE variant = {v}) AS subject_mean,\n"
            f"       avg(m0) FILTER (WHERE variant = {c}) AS baseline_mean,\n"
            f"       avg(m0) FILTER (WHERE variant = {v}) - avg(m0) FILTER (WHERE variant = {c}) AS effect\n"
            f"FROM units\nWHERE {where}")
    return inline_params(f"WITH units AS (\n{uq.sql}\n)\n{body}", uq.params)


def experiment_findings(ds: Dataset, north: Metric, docs: Sequence[Initiative] = (),
                        units: UnitTable | None = None) -> list[Finding]:
    """Experiment effect and health findings (none when the data has no variant).

    ``units``: the pipeline's per-unit table, to read the dimensions' values from.
    """
    if not ds.roles.variant or not ds.roles.unit:
        return []
    from insights.experiment import analyze_experiment_breakdowns
    from insights.experiment_types import ExperimentSpec

    exposure = exposure_event(ds)
    out: list[Finding] = []
    dims = [None, *_breakdown_dims(ds, docs, units)]
    spec = ExperimentSpec(metrics=(north.name,), exposure_event=exposure, cuped=False)
    for dim, res in zip(dims, analyze_experiment_breakdowns(ds, spec, dims), strict=True):
        if res.error:
            return out
        pairs = [(None, c) for c in res.comparisons] if dim is None else [(s.segment, s.comparison)
                                                                         for s in res.segments]
        for value, c in pairs:
            if c.error or math.isnan(c.p_value) or value == "(other)":
                continue
            chart = ChartData("bars", f"{north.label}: {c.variant} against {c.control}", north.label,
                              (ChartRow(c.control, c.control_mean), ChartRow(c.variant, c.variant_mean,
                                                                            group="highlight")),
                              res.variant_column, percent=north.binary)
            out.append(Finding(
                kind="experiment_effect", metric=north.name, metric_label=north.label, dimension=dim, value=value,
                direction=direction_of(c.abs_diff), subject_mean=c.variant_mean, baseline_mean=c.control_mean,
                effect=c.abs_diff, rel_effect=c.rel_lift, ci_low=c.abs_ci_low, ci_high=c.abs_ci_high,
                p_value=c.p_value, n_units=c.n_variant, n_baseline=c.n_control,
                test="two-proportion z-test" if c.binary else "Welch t-test",
                sql=_experiment_sql(ds, north, exposure, c.control, c.variant, dim, value), chart=chart,
                key=f"experiment:{north.name}:{c.variant}:{dim}={value}",
                subject=f"{c.variant.capitalize()} against {c.control}",
                terms=(c.variant, *([value] if value else [])),
                caveat="Units seen in more than one variant are left out." if res.health.n_multiple_exposures else "",
            ))
        if dim is None and not math.isnan(res.health.srm.p_value):
            srm = res.health.srm
            out.append(Finding(
                kind="experiment_health", metric=north.name, metric_label="units", dimension=None, value=None,
                direction="higher", subject_mean=float("nan"), baseline_mean=float("nan"), effect=float("nan"),
                rel_effect=float("nan"), ci_low=float("nan"), ci_high=float("nan"), p_value=srm.p_value,
                n_units=res.health.n_units, n_baseline=0, test="sample ratio chi-square", sql=res.sql, chart=None,
                key="experiment_health:srm", subject="a sample ratio mismatch", caveat=srm.message,
            ))
    return out


def funnel_findings(ds: Dataset, north: Metric, units: UnitTable | None = None) -> list[Finding]:
    """Funnel step findings on the inferred funnel up to the north star (see :mod:`insights.funnel_findings`)."""
    from insights.funnel_findings import funnel_findings as find

    return find(ds, north, units=units)
