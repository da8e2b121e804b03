"""``insights segments PATH --metric M [--json]``: every segment test on the metric, significant or not."""

from __future__ import annotations

import argparse

from insights.cli import add_common, emit_json, open_dataset
from insights.commands.top import finding_json
from insights.pipeline import segment_tests


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("segments", help="every segment against the rest on a metric, with adjusted p-values")
    add_common(parser)
    parser.add_argument("--metric", help="metric: EVENT, count:EVENT, sum:COL, mean:COL or COL")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ds = open_dataset(args)
    metric, tests = segment_tests(ds, args.metric)
    if args.json:
        emit_json({"metric": metric, "tests_run": len(tests),
                   "segments": [finding_json(f, show=ds.shown_sql) for f in tests]})
        return 0
    print(f"{len(tests):,} segment tests on {metric} (Benjamini-Hochberg over these tests):")
    for f in tests:
        print(f"  {f.dimension} = {f.value}: {f.subject_mean:.4g} vs {f.baseline_mean:.4g} for the rest, "
              f"n = {f.n_units:,}, p = {f.p_value:.3g}, adjusted p = {f.p_value_adjusted:.3g}")
    return 0
