"""``insights report PATH [--metric M] [--docs DIR] [--top 5] [--llm] --out FILE.html|FILE.md``: a shareable report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from insights.cli import add_common, emit_json, open_dataset
from insights.dataset import Dataset
from insights.errors import InsightsError
from insights.findings import Finding
from insights.llm import LLMConfig, load_config
from insights.llm_phrasing import Phrasing


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write the top insights as a self-contained HTML or a Markdown report")
    add_common(parser)
    parser.add_argument("--metric", help="north-star metric: EVENT, count:EVENT, sum:COL, mean:COL or COL")
    parser.add_argument("--docs", help="folder (or file) of past-initiative markdown or text documents")
    parser.add_argument("--top", type=int, default=5, help="how many insights (default 5)")
    parser.add_argument("--llm", action="store_true", help="word the statements with the configured LLM endpoint")
    parser.add_argument("--out", required=True, help="output file: .html (self-contained) or .md")
    parser.set_defaults(func=run)


def require_llm_config() -> LLMConfig:
    """The endpoint configured in the environment, or a one-line error for ``--llm`` without one."""
    config = load_config()
    if config is None:
        raise InsightsError("no_llm", "--llm needs OPENAI_API_KEY (and optionally OPENAI_BASE_URL and "
                                      "INSIGHTS_LLM_MODEL) in the environment; see docs/llm.md.")
    return config


def llm_phrasing(ds: Dataset, findings: Sequence[Finding], docs: str | None, config: LLMConfig) -> Phrasing:
    """Phrase with ``config``; a notice goes to stderr when some or all statements fall back to the template."""
    from insights.llm_phrasing import phrase_insights

    phrasing = phrase_insights(ds, findings, config, docs=docs)
    if phrasing.notice:
        print(f"note: {phrasing.notice}", file=sys.stderr)
    return phrasing


def run(args: argparse.Namespace) -> int:
    from insights.pipeline import find_insights
    from insights.report import write_report

    if args.top < 1:
        raise InsightsError("bad_top", "--top must be at least 1.")
    if Path(args.out).suffix.lower() not in (".html", ".htm", ".md", ".markdown"):
        raise InsightsError("bad_report_path", f"--out must end in .html or .md: {args.out}")
    config = require_llm_config() if args.llm else None
    ds = open_dataset(args)
    result = find_insights(ds, args.metric, docs=args.docs, top_k=args.top)
    phrasing = llm_phrasing(ds, result.insights, args.docs, config) if config else None
    kind = write_report(result, Path(args.path).name if args.path else ds.source, args.out, phrasing)
    n_llm = phrasing.n_llm if phrasing else 0
    if args.json:
        emit_json({"out": str(args.out), "format": kind, "metric": result.metric, "insights": len(result.insights),
                   "llm_statements": n_llm, "notice": phrasing.notice if phrasing else ""})
    else:
        print(f"Wrote a {kind} report with {len(result.insights)} insights on {result.metric} to {args.out}"
              + (f" ({n_llm} worded by the model)" if args.llm else "") + ".")
    return 0
