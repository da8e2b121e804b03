"""``insights top PATH [--metric M] [--docs DIR] [--top 5] [--json]``: the ranked insight statements."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from insights.cli import add_common, emit_json, open_dataset
from insights.findings import Finding
from insights.llm_phrasing import PhrasedInsight
from insights.pipeline import find_insights


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("top", help="the top insights on a north-star metric, each with its SQL")
    add_common(parser)
    parser.add_argument("--metric", help="north-star metric: EVENT, count:EVENT, sum:COL, mean:COL or COL")
    parser.add_argument("--docs", help="folder (or file) of past-initiative markdown or text documents")
    parser.add_argument("--top", type=int, default=5, help="how many insights (default 5)")
    parser.add_argument("--llm", action="store_true", help="word the statements with the configured LLM endpoint")
    parser.set_defaults(func=run)


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def finding_json(f: Finding, rank: int | None = None, show: Callable[[str], str] | None = None) -> dict[str, Any]:
    """One insight or test in the public JSON contract (docs/cli.md); ``show`` turns the core's SQL into what
    the user's engine runs (``Dataset.shown_sql``)."""
    out: dict[str, Any] = {} if rank is None else {"rank": rank}
    out.update({
        "kind": f.kind,
        "statement": f.statement,
        "sql": show(f.sql) if show else f.sql,
        "metric": f.metric,
        "dimension": f.dimension,
        "value": f.value,
        "direction": f.direction,
        "effect": _num(f.effect),
        "p_value": _num(f.p_value),
        "p_value_adjusted": _num(f.p_value_adjusted),
        "n_units": int(f.n_units),
    })
    return out


def run(args: argparse.Namespace) -> int:
    from insights.errors import InsightsError

    if args.top < 1:
        raise InsightsError("bad_top", "--top must be at least 1.")
    from insights.commands.report import llm_phrasing, require_llm_config

    config = require_llm_config() if args.llm else None
    ds = open_dataset(args)
    result = find_insights(ds, args.metric, docs=args.docs, top_k=args.top)
    words: dict[str, PhrasedInsight] = {}
    if config is not None:
        words = {p.key: p for p in llm_phrasing(ds, result.insights, args.docs, config).insights}
    if args.json:
        insights = [finding_json(f, i + 1, ds.shown_sql) for i, f in enumerate(result.insights)]
        for item, f in zip(insights, result.insights, strict=True):
            if f.key in words:
                p = words[f.key]
                item["phrased"] = {"headline": p.headline, "text": p.text, "why": p.why,
                                   "initiative": p.initiative, "source": p.source, "reason": p.reason}
        emit_json({"metric": result.metric, "tests_run": result.tests_run, "insights": insights})
        return 0
    print(f"Top {len(result.insights)} insights on {result.metric} ({result.tests_run:,} tests, "
          f"false discovery rate {result.fdr:.0%}):")
    for i, f in enumerate(result.insights, 1):
        w = words.get(f.key)
        text = f"{w.headline}\n   {w.text}\n   why it matters: {w.why}" if w and w.source == "llm" else f.statement
        print(f"\n{i}. {text}\n   why: {f.rank_reason}")
    if not result.insights:
        print("Nothing passed the multiple-testing correction.")
    return 0
