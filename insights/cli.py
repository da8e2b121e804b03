"""Command line: ``python -m insights SUBCOMMAND PATH [options]``.

Each subcommand lives in ``insights/commands/<name>.py`` with ``add_parser(subparsers)``; bad input ends
with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import duckdb

from insights.dataset import Dataset
from insights.errors import InsightsError
from insights.jsonable import to_jsonable

ENGINE_MODULES = ("psycopg", "pyspark", "py4j")
COMMANDS = ("profile", "top", "segments", "experiment", "sql", "funnel", "report")


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand takes: the file (or an engine source), role overrides and ``--json``."""
    parser.add_argument("path", nargs="?", help="CSV, gzip CSV or Parquet file (or use --source)")
    parser.add_argument("--source", help="run inside an engine instead: postgresql://USER@HOST:PORT/DB, or spark "
                        "(local[2]) or a Spark master URL; credentials from PGPASSWORD or .streamlit/secrets.toml")
    parser.add_argument("--table", help="events table of --source (e.g. analytics.events)")
    parser.add_argument("--sql", dest="source_sql", metavar="SELECT",
                        help="a SELECT over the events in the engine's dialect, instead of --table")
    parser.add_argument("--unit-col", help="column that identifies a unit (user, account, session)")
    parser.add_argument("--time-col", help="timestamp column")
    parser.add_argument("--event-col", help="event name column")
    parser.add_argument("--variant-col", help="experiment variant column")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def open_dataset(args: argparse.Namespace) -> Dataset:
    """Load ``args.path`` (or open ``--source``) and apply the role overrides given on the command line."""
    from insights.loading import load_file

    source = getattr(args, "source", None)
    if source:
        from insights.warehouse import open_engine_source

        if args.path:
            raise InsightsError("bad_source", "Give either a file PATH or --source, not both.")
        ds = open_engine_source(source, table=args.table, sql=args.source_sql)
    elif args.path:
        if args.table or args.source_sql:
            raise InsightsError("bad_source", "--table and --sql name the events of a --source.")
        ds = load_file(args.path)
    else:
        raise InsightsError("no_source", "Give a CSV, gzip CSV or Parquet file, or --source with --table.")
    overrides: dict[str, Any] = {}
    for flag, role in (("unit_col", "unit"), ("time_col", "time"), ("event_col", "event"),
                       ("variant_col", "variant")):
        value = getattr(args, flag, None)
        if value:
            overrides[role] = value
    return ds.with_roles(**overrides) if overrides else ds


def emit_json(value: Any) -> None:
    """Write a result as JSON on stdout."""
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m insights", description="Find what is true in product data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name in COMMANDS:
        importlib.import_module(f"insights.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InsightsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"error: the query on this data failed: {first}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("INSIGHTS_DEBUG"):
            raise
        if type(exc).__module__.split(".")[0] in ENGINE_MODULES:  # the engine refused a query
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            print(f"error: the query on this data failed: {first}", file=sys.stderr)
            return 2
        print(f"error: internal error ({type(exc).__name__}: {exc}); set INSIGHTS_DEBUG=1 for details",
              file=sys.stderr)
        return 1
