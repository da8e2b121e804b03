"""``insights experiment PATH --variant COL --metric M [...] [--json]``: health checks and every metric x variant."""

from __future__ import annotations

import argparse
import math
from typing import Any

from insights.cli import add_common, emit_json, open_dataset
from insights.errors import InsightsError
from insights.experiment import analyze_experiment
from insights.experiment_types import ExperimentResult, ExperimentSpec, MetricComparison


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("experiment", help="A/B test: sample ratio, exclusions, lifts, p-values, chance to win")
    add_common(parser)
    parser.add_argument("--variant", help="variant column (default: the inferred variant column)")
    parser.add_argument("--control", help="control value (default: 'control' if present, else the first sorted)")
    parser.add_argument("--metric", action="append", required=True,
                        help="metric, north star first (EVENT, count:EVENT, sum:COL, mean:COL, COL); repeatable")
    parser.add_argument("--guardrail", action="append", default=[], help="guardrail metric (not in the family)")
    parser.add_argument("--exposure", help="event that marks entry into the experiment (event logs)")
    parser.add_argument("--segment", help="dimension to break the effect down by")
    parser.add_argument("--top-n", type=int, default=10, help="segment values kept before '(other)' (default 10)")
    parser.add_argument("--correction", choices=("bh", "holm"), default="bh", help="multiple-testing method")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--cap", type=float, help="winsorize continuous metrics at this percentile, e.g. 0.99")
    parser.add_argument("--no-cuped", action="store_true", help="do not use the pre-exposure period (CUPED)")
    parser.add_argument("--sequential", action="store_true", help="add always-valid intervals and p-values")
    parser.add_argument("--prior", type=float, nargs=2, metavar=("MEAN", "VAR"),
                        help="Gaussian prior on the relative lift for chance to win (default flat)")
    parser.add_argument("--split", action="append", default=[], metavar="VALUE=SHARE",
                        help="planned share of a variant (repeat for each; default equal)")
    parser.set_defaults(func=run)


def _split(items: list[str]) -> dict[str, float] | None:
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, _, share = item.rpartition("=")
        try:
            out[name] = float(share)
        except ValueError:
            raise InsightsError("bad_option", f"--split takes VALUE=SHARE, got {item!r}.") from None
        if not name or not out[name] >= 0:
            raise InsightsError("bad_option", f"--split takes VALUE=SHARE with a share >= 0, got {item!r}.")
    return out


def _pair(low: float, high: float) -> list[float]:
    return [low, high]


def comparison_json(c: MetricComparison) -> dict[str, Any]:
    """One comparison in the public JSON contract (docs/cli.md)."""
    return {
        "metric": c.metric, "role": c.role, "variant": c.variant, "control": c.control,
        "n_control": c.n_control, "n_variant": c.n_variant,
        "control_mean": c.control_mean, "variant_mean": c.variant_mean,
        "abs_diff": c.abs_diff, "abs_ci": _pair(c.abs_ci_low, c.abs_ci_high),
        "rel_lift": c.rel_lift, "rel_ci": _pair(c.rel_ci_low, c.rel_ci_high),
        "p_value": c.p_value, "p_value_adjusted": c.p_value_adjusted,
        "chance_to_win": c.chance_to_win, "expected_loss": c.expected_loss,
        "seq_ci": _pair(c.seq_ci_low, c.seq_ci_high), "seq_p_value": c.seq_p_value,
        "cuped_applied": c.cuped_applied, "variance_reduction": c.variance_reduction,
        "error": c.error,
    }


def as_json(r: ExperimentResult) -> dict[str, Any]:
    """The public JSON contract of ``experiment`` (docs/cli.md)."""
    h = r.health
    return {
        "variant_column": r.variant_column,
        "control": r.control,
        "variants": list(r.variants),
        "srm": {"p_value": h.srm.p_value, "flagged": h.srm.flagged, "counts": h.srm.counts,
                "expected_shares": h.srm.expected_shares, "message": h.srm.message},
        "multiple_exposures": h.n_multiple_exposures,
        "null_variant": h.n_null_variant,
        "mismatched_rows": h.n_mismatched_rows,
        "mismatched_column": h.shadow.column if h.shadow else None,
        "duplicate_rows": h.n_duplicate_rows,
        "n_units": h.n_units,
        "time_min": h.time_min,
        "time_max": h.time_max,
        "warnings": [{"code": w.code, "message": w.message} for w in h.warnings],
        "correction": r.correction,
        "alpha": r.alpha,
        "comparisons": [comparison_json(c) for c in r.comparisons],
        "segments": [{"segment": s.segment, **comparison_json(s.comparison)} for s in r.segments],
        "error": r.error,
        "message": r.message,
    }


def _fmt(value: float, pct: bool = False) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:+.2%}" if pct else f"{value:.4g}"


def run(args: argparse.Namespace) -> int:
    prior_mean, prior_var = args.prior if args.prior else (0.0, None)
    spec = ExperimentSpec(
        metrics=tuple(args.metric), guardrails=tuple(args.guardrail), variant=args.variant or args.variant_col,
        control=args.control, expected_split=_split(args.split), exposure_event=args.exposure,
        correction=args.correction, alpha=args.alpha, cap_percentile=args.cap, cuped=not args.no_cuped,
        segment=args.segment, top_n=args.top_n, sequential=args.sequential, prior_mean=prior_mean,
        prior_var=prior_var,
    )
    r = analyze_experiment(open_dataset(args), spec)
    if args.json:
        emit_json(as_json(r))
        return 0
    h = r.health
    counts = ", ".join(f"{k} {v:,}" for k, v in h.srm.counts.items())
    print(f"{r.variant_column}: control {r.control!r}; units {counts}")
    print(f"sample ratio: {h.srm.message}")
    for w in h.warnings:
        if w.code != "srm":
            print(f"warning [{w.code}]: {w.message}")
    if r.error:
        print(f"no comparison: {r.message}")
        return 0
    print(f"{'metric':<20} {'variant':<12} {'control':>9} {'variant':>9} {'lift':>8} {'p':>8} {'p adj':>8} {'win':>6}")
    for c in r.comparisons:
        tag = " (guardrail)" if c.role == "guardrail" else ""
        note = f"  [{c.error}]" if c.error else ""
        print(f"{c.metric[:20]:<20} {c.variant[:12]:<12} {_fmt(c.control_mean):>9} {_fmt(c.variant_mean):>9} "
              f"{_fmt(c.rel_lift, True):>8} {_fmt(c.p_value):>8} {_fmt(c.p_value_adjusted):>8} "
              f"{_fmt(c.chance_to_win):>6}{tag}{note}")
    return 0
