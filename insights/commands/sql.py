"""``insights sql PATH "statement or question" [--llm] [--json]``: the SQL for the data, its result and a verdict."""

from __future__ import annotations

import argparse
import math
import sys

from insights.ask import AskResult, ask
from insights.cli import add_common, emit_json, open_dataset
from insights.errors import InsightsError

MAX_PRINTED_ROWS = 50


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sql", help="a statement or question -> validated SQL, its result and a verdict")
    add_common(parser)
    parser.add_argument("text", help='statement or question, e.g. "mobile users purchase less than desktop users"')
    parser.add_argument("--llm", action="store_true",
                        help="when the question cannot be mapped offline, ask the model configured by "
                             "OPENAI_API_KEY, OPENAI_BASE_URL and INSIGHTS_LLM_MODEL")
    parser.set_defaults(func=run)


def as_json(r: AskResult) -> dict:
    """The public JSON contract of ``sql`` (docs/cli.md)."""
    return {
        "sql": r.sql,
        "columns": r.columns,
        "rows": [list(row) for row in r.rows],
        "verdict": r.verdict,
        "p_value": None if math.isnan(r.p_value) else r.p_value,
        "test": r.test,
        "understood": r.understood,
        "message": r.message,
        "source": r.source,
    }


def _client(args: argparse.Namespace) -> tuple[object | None, str | None]:
    if not args.llm:
        return None, None
    from insights.llm import load_config, make_client

    config = load_config()
    if config is None:
        raise InsightsError("no_llm", "--llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server).")
    return make_client(config), config.model


def run(args: argparse.Namespace) -> int:
    ds = open_dataset(args)
    if ds.engine is not None:
        raise InsightsError("unsupported_source", "The sql subcommand answers questions on files only (with DuckDB); "
                            "--source is not supported here yet.")
    client, model = _client(args)
    result = ask(ds, args.text, client, model=model)  # type: ignore[arg-type]
    if args.json:
        emit_json(as_json(result))
        return 0
    if result.sql is None:
        understood = "; ".join(f"{k}: {v}" for k, v in result.understood.items() if k != "llm_sql")
        print(f"error: could not answer: {result.message}" + (f" (understood {understood})" if understood else ""),
              file=sys.stderr)
        return 2
    print(result.sql)
    print()
    print("\t".join(result.columns))
    for row in result.rows[:MAX_PRINTED_ROWS]:
        print("\t".join("" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
    if len(result.rows) > MAX_PRINTED_ROWS:
        print(f"... {len(result.rows) - MAX_PRINTED_ROWS:,} more rows (use --json for all)")
    if result.test:
        print(f"\n{result.test}")
    if result.verdict:
        print(f"Verdict: {result.verdict}")
    if result.message:
        print(f"Note: {result.message}")
    return 0
