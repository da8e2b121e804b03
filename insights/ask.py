"""Ask: a statement or question about the loaded data -> validated SQL, its result, a chart hint and a verdict.

The deterministic path comes first: link the words to the schema (:mod:`insights.ask_linking`), recognise
the shape (:mod:`insights.ask_shapes`), build the SQL with the core builders (:mod:`insights.ask_sql`), run
it, and for a comparison test it (two-proportion z-test for rates, Welch's t-test for means). When the
question cannot be mapped, the answer says what was understood and what is missing; with an LLM client
given, the question then goes to the model (:mod:`insights.ask_llm`), whose SQL runs only through
:func:`insights.safesql.run_safe`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from insights.ask_linking import build_lexicon, link
from insights.ask_shapes import REST, NotUnderstood, Plan, plan_question, understood_of
from insights.ask_sql import BuiltQuery, build_plan_sql
from insights.dataset import Dataset
from insights.errors import InsightsError
from insights.safesql import UnsafeSQLError, run_safe
from insights.sql import inline_params
from insights.stats import Comparison, SampleStats, two_proportion_test, welch_test

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

Verdict = Literal["supported", "not supported", "inconclusive"]
ChartHint = Literal["bar", "line", "funnel", "number", "table"]
ALPHA = 0.05
MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True, slots=True)
class AskResult:
    """The answer to one statement or question.

    Attributes
    ----------
    question : str
        The text as asked.
    sql : str or None
        Runnable DuckDB SQL that produced ``rows`` (values written in); None when nothing ran.
    columns : list[str]
        Output column names.
    rows : list[tuple]
        Result rows.
    value_column : str or None
        The column holding the measured value.
    chart : str
        ``bar``, ``line``, ``funnel``, ``number`` or ``table``.
    verdict : str or None
        For a statement with a direction: ``supported`` (significant in the stated direction), ``not
        supported`` (significant the other way) or ``inconclusive`` (not significant at ``ALPHA``).
    p_value : float
        Two-sided p-value of the comparison; NaN when there was none.
    test : str or None
        The test behind the verdict and its numbers, in words.
    comparison : Comparison or None
        The subject group against the reference (``variant`` = subject, ``control`` = reference).
    understood : dict
        What was linked: shape, measure, event or column, dimension, groups, filters, time.
    message : str or None
        Why there is no answer (or a note on the answer); None when all is well.
    source : str
        ``offline`` (the deterministic path), ``llm`` or ``none``.
    """

    question: str
    sql: str | None
    columns: list[str]
    rows: list[tuple]
    value_column: str | None = None
    chart: ChartHint = "table"
    verdict: Verdict | None = None
    p_value: float = math.nan
    test: str | None = None
    comparison: Comparison | None = None
    understood: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    source: Literal["offline", "llm", "none"] = "offline"

    @property
    def answered(self) -> bool:
        return self.sql is not None and self.message is None


def _chart(plan: Plan) -> ChartHint:
    if plan.shape == "over_time":
        return "line"
    if plan.shape == "funnel":
        return "funnel"
    if plan.shape == "scalar":
        return "number"
    return "bar"


def _group_stats(built: BuiltQuery, columns: list[str], rows: list[tuple], key: str) -> SampleStats | None:
    idx = {c: i for i, c in enumerate(columns)}
    for row in rows:
        if str(row[0]) == key:
            n = row[idx[built.n_column or ""]]
            s = row[idx[built.sum_column or ""]]
            sq = row[idx[built.sum_sq_column or ""]]
            return SampleStats(int(n or 0), float(s or 0.0), float(sq or 0.0))
    return None


def _fmt(x: float, binary: bool) -> str:
    return f"{x:.2%}" if binary else f"{x:,.4g}"


def _judge(plan: Plan, built: BuiltQuery, columns: list[str], rows: list[tuple]) -> dict[str, Any]:
    subject, reference = plan.groups
    a = _group_stats(built, columns, rows, subject)
    b = _group_stats(built, columns, rows, reference)
    if a is None or b is None:
        missing = subject if a is None else reference
        return {"message": f"There are no units in the group {missing!r}, so nothing can be compared."}
    if built.binary:
        cmp = two_proportion_test(int(b.sum), b.n, int(a.sum), a.n, alpha=ALPHA)
        name = "two-proportion z-test (pooled, two-sided)"
    else:
        cmp = welch_test(b, a, alpha=ALPHA)
        name = "Welch's t-test (two-sided)"
    label = "units" if built.binary or plan.measure in ("per_unit_sum", "per_unit_count") else "rows"
    ref_name = "the others" if reference == REST else reference
    test = (f"{name}: {subject} {_fmt(cmp.variant_mean, built.binary)} (n = {cmp.n_variant:,} {label}) vs "
            f"{ref_name} {_fmt(cmp.control_mean, built.binary)} (n = {cmp.n_control:,}), "
            f"difference {_fmt(cmp.abs_diff, built.binary)}, p = {cmp.p_value:.3g}")
    if cmp.error and math.isnan(cmp.p_value):
        return {"comparison": cmp, "test": test, "message": f"The test could not be run ({cmp.error})."}
    verdict: Verdict | None = None
    if plan.direction is not None:
        significant = cmp.p_value < ALPHA
        if not significant:
            verdict = "inconclusive"
        elif plan.direction == "differ":
            verdict = "supported"
        else:
            stated = -1 if plan.direction == "less" else 1
            verdict = "supported" if math.copysign(1, cmp.abs_diff) == stated else "not supported"
    return {"comparison": cmp, "test": test, "p_value": cmp.p_value, "verdict": verdict}


def ask_offline(ds: Dataset, text: str) -> AskResult:
    """The deterministic path only: never calls a model."""
    lex = build_lexicon(ds)
    links = link(text, lex)
    try:
        plan = plan_question(links, lex, ds.roles.variant)
    except NotUnderstood as exc:
        return AskResult(text, None, [], [], understood=exc.understood, message=exc.message, source="none")
    if plan.measure in ("funnel", "units", "events") or plan.event or plan.steps:
        ds.require("unit", "time", "event") if ds.shape == "event_log" or plan.event else ds.require("unit")
    built = build_plan_sql(ds, plan)
    cur = ds.con.cursor()
    try:
        cur.execute(built.sql, built.params)
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    finally:
        cur.close()
    extra: dict[str, Any] = {}
    if plan.shape == "compare":
        extra = _judge(plan, built, columns, rows)
    return AskResult(text, inline_params(built.sql, built.params), columns, rows, built.value_column,
                     _chart(plan), understood=understood_of(plan), source="offline", **extra)


def run_user_sql(ds: Dataset, sql: str, *, timeout_seconds: float = 10.0, max_rows: int = 10_000) -> AskResult:
    """Run SQL written by a person through validation and the locked-down runner."""
    try:
        res = run_safe(ds.con, sql, timeout_seconds=timeout_seconds, max_rows=max_rows)
    except UnsafeSQLError as exc:
        return AskResult(sql, None, [], [], message=f"Refused: {exc.reason}", source="none")
    note = f"Only the first {max_rows:,} rows are shown." if res.truncated else None
    return AskResult(sql, res.sql, res.columns, res.rows, chart="table", message=note, source="offline")


def ask(ds: Dataset, text: str, llm: openai.OpenAI | None = None, *, model: str | None = None) -> AskResult:
    """Answer a statement or question about ``ds``.

    The offline path runs first; when it cannot map the text and ``llm`` (an ``openai.OpenAI`` client) is
    given, the model writes SQL that runs only after validation (see :func:`insights.ask_llm.ask_llm`).
    """
    text = (text or "").strip()
    if not text:
        raise InsightsError("empty_question", "Type a question or a statement about the data.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InsightsError("long_question", f"Keep the question under {MAX_QUESTION_CHARS} characters.")
    result = ask_offline(ds, text)
    if result.sql is not None or llm is None:
        return result
    from insights.ask_llm import ask_llm

    return ask_llm(ds, text, llm, model=model, offline=result)
