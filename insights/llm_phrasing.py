"""Optional LLM wording of findings, checked by :mod:`insights.phrasing_guard` before anyone reads it.

The model receives only the findings (kind, metric, subject, numbers as raw values and as shown), the schema
(column names and types, no rows) and short excerpts of the past-initiative documents. It answers in JSON
mode at temperature 0 with, per finding, a headline, one or two sentences and why it matters. Any finding whose
text fails the guard keeps its template statement, with the reason recorded; timeouts, rate limits, server
errors, malformed JSON and refusals give template statements for all and a short notice. Nothing here raises
for a bad answer.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from insights.dataset import Dataset
from insights.findings import Finding
from insights.initiatives import Initiative, parse_initiative
from insights.llm import LLMConfig, make_client
from insights.phrasing import fmt_count, fmt_diff, fmt_p, fmt_value, is_rate
from insights.phrasing_guard import Vocabulary, check_text, vocabulary

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You reword statistical findings about product data for a product manager.
You receive JSON with "findings" (each with a key, kind, metric, subject, direction and numbers), the data
"schema" (column names and types) and "initiatives" (titles and excerpts of past product initiatives).
Answer with one JSON object: {"insights": [{"key": ..., "headline": ..., "text": ..., "why": ...,
"initiative": ...}]}, one entry per finding, same keys, same order.
- headline: at most 12 words.
- text: one or two plain sentences saying what was found.
- why: one sentence on why it matters for the product; name a past initiative only when its excerpt is
  clearly about the same thing, and then put its exact title in "initiative" (else null).
Rules, strictly:
- Use only numbers from the finding, written exactly as in its "shown" values (you may drop decimals by
  rounding correctly), or leave numbers out. Never compute new numbers, never convert points to percent.
- Keep the direction: "higher" means the subject is above its baseline, "lower" below.
- Name only the segment, metric and variants of that finding, as they appear in it. Do not name other
  segments, columns, events or dates.
- Keep caveats: a before/after launch comparison is not an experiment.
- No markdown, no advice beyond the "why" sentence."""

MAX_HEADLINE = 140
MAX_TEXT = 600
MAX_WHY = 400
MAX_EXCERPT = 1200
Source = Literal["llm", "template"]


@dataclass(frozen=True, slots=True)
class PhrasedInsight:
    """How one finding is worded for people.

    key
        The finding's key.
    headline, text, why
        Short title, one or two sentences, and why it matters.
    initiative
        Title of the past initiative ``why`` refers to, if any.
    source
        ``llm`` when the model's wording passed the guard, else ``template``.
    reason
        Why the template wording is used (empty for ``llm``).
    """

    key: str
    headline: str
    text: str
    why: str
    initiative: str | None
    source: Source
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Phrasing:
    """The wording of a list of findings.

    insights
        One entry per finding, in the findings' order.
    model
        The model asked (None for template wording only).
    notice
        A short sentence for the user when some or all statements fell back to the template (else empty).
    """

    insights: tuple[PhrasedInsight, ...]
    model: str | None = None
    notice: str = ""

    @property
    def n_llm(self) -> int:
        return sum(p.source == "llm" for p in self.insights)


def headline(f: Finding) -> str:
    """A deterministic short title for a finding."""
    where = f"{f.dimension} = {f.value}" if f.dimension else ""
    if f.kind in ("segment", "distribution"):
        return f"{where}: {f.direction} {f.metric_label}"
    if f.kind == "experiment_effect":
        return f"{f.subject}{f' ({where})' if where else ''}: {f.direction} {f.metric_label}"
    if f.kind == "launch_change":
        return f"{f.metric_label.capitalize()} {'rose' if f.direction == 'higher' else 'fell'} after {f.subject}"
    if f.kind == "funnel_step":
        return f"Step {f.subject}{f' ({where})' if where else ''}: {f.direction} conversion"
    return (f.subject or f.kind.replace("_", " ")).capitalize()


def template_insight(f: Finding, reason: str = "") -> PhrasedInsight:
    return PhrasedInsight(f.key, headline(f), f.statement, f.rank_reason, None, "template", reason)


def template_phrasing(findings: Sequence[Finding], notice: str = "", model: str | None = None) -> Phrasing:
    """Template wording for every finding."""
    return Phrasing(tuple(template_insight(f, notice) for f in findings), model, notice)


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def finding_payload(f: Finding) -> dict[str, Any]:
    """What the model is told about one finding: no rows, no SQL."""
    rate = is_rate(f)
    numbers: dict[str, Any] = {
        "subject_mean": _num(f.subject_mean), "baseline_mean": _num(f.baseline_mean), "effect": _num(f.effect),
        "rel_effect": _num(f.rel_effect), "ci_low": _num(f.ci_low), "ci_high": _num(f.ci_high),
        "p_value": _num(f.p_value), "p_value_adjusted": _num(f.p_value_adjusted), "n_units": int(f.n_units),
        "n_baseline": int(f.n_baseline), **{k: _num(v) for k, v in f.details},
    }
    shown = {"subject_mean": fmt_value(f.subject_mean, rate), "baseline_mean": fmt_value(f.baseline_mean, rate),
             "effect": fmt_diff(f.effect, rate), "n_units": fmt_count(f.n_units),
             "p_value_adjusted": fmt_p(f.p_value_adjusted)}
    if not math.isnan(f.rel_effect):
        shown["rel_effect"] = f"{f.rel_effect:+.1%}"
    if not math.isnan(f.ci_low):
        shown["ci_95"] = f"{fmt_diff(f.ci_low, rate)} to {fmt_diff(f.ci_high, rate)}"
    return {
        "key": f.key, "kind": f.kind, "metric": f.metric, "metric_label": f.metric_label,
        "segment": {"column": f.dimension, "value": f.value} if f.dimension else None,
        "subject": f.subject or None, "direction": f.direction, "means_are_rates": rate,
        "numbers": numbers, "shown": shown, "caveat": f.caveat or None, "template": f.statement,
    }


def doc_excerpts(docs: str | Path | Sequence[str | Path | Initiative] | None,
                 max_chars: int = MAX_EXCERPT) -> list[tuple[str, str]]:
    """(title, excerpt) of each past-initiative document: a folder, files, or parsed :class:`Initiative` objects
    (whose text is already normalised to lower-case words)."""
    if docs is None:
        return []
    items = [docs] if isinstance(docs, (str, Path)) else list(docs)
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, Initiative):
            out.append((item.title, item.text.strip()[:max_chars]))
            continue
        p = Path(item)
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".md", ".markdown", ".txt")) \
            if p.is_dir() else [p] if p.is_file() else []
        for f in files:
            text = f.read_text(encoding="utf-8", errors="replace").strip()
            out.append((parse_initiative(text, f.name).title, text[:max_chars]))
    return out


def build_messages(findings: Sequence[Finding], schema: Sequence[tuple[str, str]],
                   excerpts: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """The chat messages: the system prompt and one JSON user message."""
    payload = {
        "findings": [finding_payload(f) for f in findings],
        "schema": [{"name": n, "type": t} for n, t in schema],
        "initiatives": [{"title": t, "excerpt": e} for t, e in excerpts],
    }
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(payload, ensure_ascii=False)}]


def _short_error(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "the model did not answer in time"
    if isinstance(exc, openai.RateLimitError):
        return "the endpoint is rate limiting requests"
    if isinstance(exc, openai.AuthenticationError):
        return "the endpoint rejected the API key"
    if isinstance(exc, openai.APIStatusError):
        return f"the endpoint answered with HTTP {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "the endpoint could not be reached"
    return f"the call failed ({type(exc).__name__})"


def _ask(config: LLMConfig, messages: list[dict[str, str]], client: Any = None) -> str:
    """The model's answer text; raises ValueError for a refusal or an empty answer."""
    client = client or make_client(config)
    response = client.chat.completions.create(model=config.model, messages=messages, temperature=0,
                                              response_format={"type": "json_object"})
    if not response.choices:
        raise ValueError("the model returned no answer")
    message = response.choices[0].message
    if getattr(message, "refusal", None):
        raise ValueError("the model declined to answer")
    if not message.content:
        raise ValueError("the model returned an empty answer")
    return str(message.content)


def _entries(answer: str) -> dict[str, dict[str, Any]]:
    data = json.loads(answer)
    items = data.get("insights") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("the answer has no list of insights")
    return {str(i["key"]): i for i in items if isinstance(i, dict) and "key" in i}


def _field(entry: dict[str, Any], name: str, limit: int) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"no {name}")
    if len(value) > limit:
        raise ValueError(f"the {name} is longer than {limit} characters")
    return " ".join(value.split())


def review(f: Finding, entry: dict[str, Any] | None, vocab: Vocabulary) -> PhrasedInsight:
    """The model's wording of ``f`` if it passes the guard, else the template with the reason."""
    if entry is None:
        return template_insight(f, "the model did not phrase this finding")
    try:
        head, text, why = (_field(entry, "headline", MAX_HEADLINE), _field(entry, "text", MAX_TEXT),
                           _field(entry, "why", MAX_WHY))
    except ValueError as exc:
        return template_insight(f, f"the answer is incomplete: {exc}")
    initiative = entry.get("initiative") or None
    if initiative is not None and initiative not in vocab.docs:
        return template_insight(f, f"the answer cites an unknown initiative {str(initiative)[:80]!r}")
    reasons = check_text(f"{head}\n{text}\n{why}", f, vocab)
    if reasons:
        return template_insight(f, "; ".join(dict.fromkeys(reasons)))
    return PhrasedInsight(f.key, head, text, why, initiative, "llm")


def phrase_with_llm(findings: Sequence[Finding], config: LLMConfig, vocab: Vocabulary,
                    schema: Sequence[tuple[str, str]], excerpts: Sequence[tuple[str, str]] = (),
                    client: Any = None) -> Phrasing:
    """Ask the model to reword ``findings``; every failure ends in template wording with a notice."""
    if not findings:
        return Phrasing((), config.model)
    vocab = Vocabulary(vocab.columns, vocab.values, vocab.variant, vocab.events,
                       tuple(dict.fromkeys([*vocab.docs, *(t for t, _ in excerpts)])))
    try:
        answer = _ask(config, build_messages(findings, schema, excerpts), client)
    except ValueError as exc:
        return template_phrasing(findings, f"Template statements are shown: {exc}.", config.model)
    except Exception as exc:  # any client or network failure must leave the product working
        logger.warning("LLM phrasing failed at %s: %s", config.endpoint, type(exc).__name__)
        return template_phrasing(findings, f"Template statements are shown: {_short_error(exc)}.", config.model)
    try:
        entries = _entries(answer)
    except (ValueError, TypeError, AttributeError):
        return template_phrasing(findings, "Template statements are shown: the model's answer was not valid JSON "
                                           "in the expected shape.", config.model)
    out = tuple(review(f, entries.get(f.key), vocab) for f in findings)
    fallback = sum(p.source == "template" for p in out)
    notice = "" if not fallback else (
        f"{fallback} of {len(out)} statements use the template wording: the model's text did not match the "
        "finding's numbers or names.")
    for p in out:
        if p.reason:
            logger.info("template wording for %s: %s", p.key, p.reason)
    return Phrasing(out, config.model, notice)


def phrase_insights(ds: Dataset, findings: Sequence[Finding], config: LLMConfig | None,
                    docs: str | Path | Sequence[str | Path | Initiative] | None = None,
                    client: Any = None) -> Phrasing:
    """Word ``findings`` of ``ds`` with the configured model (template wording when ``config`` is None)."""
    if config is None:
        return template_phrasing(findings, "Template statements are shown: no language model is configured "
                                           "(set OPENAI_API_KEY).")
    excerpts = doc_excerpts(docs)
    schema = [(c.name, c.dtype) for c in ds.columns]
    return phrase_with_llm(findings, config, vocabulary(ds, [t for t, _ in excerpts]), schema, excerpts, client)
