"""``insights funnel PATH --steps a,b,c [--window 7d] [--mode ...] [--by COLUMN] [--json]``."""

from __future__ import annotations

import argparse
import math
from typing import Any

from insights.cli import add_common, emit_json, open_dataset
from insights.funnel import FunnelResult, FunnelSpec, analyze_funnel, parse_window
from insights.funnel_sql import MODES


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("funnel", help="units per step of a funnel, with breakdown and significance")
    add_common(parser)
    parser.add_argument("--steps", required=True, help="comma-separated event names, 2 to 10, in order")
    parser.add_argument("--window", default="7d", help="conversion window from step 1: 90m, 12h, 7d (default 7d)")
    parser.add_argument("--mode", default="sequential", choices=MODES, help="step order rule (default sequential)")
    parser.add_argument("--by", help="break the funnel down by this column (first-touch value per unit)")
    parser.add_argument("--top", type=int, default=10, help="segments shown before folding into (other)")
    parser.set_defaults(func=run)


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def _steps(steps: Any) -> list[dict[str, Any]]:
    return [{"event": s.event, "units": s.n_units, "conversion_from_start": _num(s.conversion_from_start),
             "conversion_from_previous": _num(s.conversion_from_previous),
             "median_seconds_from_previous": _num(getattr(s, "median_seconds_from_previous", math.nan))}
            for s in steps]


def as_json(r: FunnelResult) -> dict[str, Any]:
    """The public JSON contract of ``funnel`` (docs/cli.md)."""
    out: dict[str, Any] = {
        "mode": r.spec.mode,
        "window_seconds": r.spec.window_seconds,
        "steps": _steps(r.steps),
    }
    if r.spec.by is not None:
        out["by"] = r.spec.by
        out["breakdown"] = [
            {"segment": seg.segment, "units": seg.n_units, "tested": seg.tested, "reason": seg.reason,
             "steps": [dict(step, p_value=_num(s.p_value), p_value_adjusted=_num(s.p_value_adjusted))
                       for step, s in zip(_steps(seg.steps), seg.steps, strict=True)]}
            for seg in r.breakdown
        ]
    if r.variants:
        out["variants"] = [{"step": v.step, "event": v.event, "variant": v.variant, "control": v.control,
                            "control_rate": _num(v.control_rate), "variant_rate": _num(v.variant_rate),
                            "abs_diff": _num(v.abs_diff), "ci_low": _num(v.ci_low), "ci_high": _num(v.ci_high),
                            "p_value": _num(v.p_value), "p_value_adjusted": _num(v.p_value_adjusted)}
                           for v in r.variants]
    return out


def run(args: argparse.Namespace) -> int:
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    spec = FunnelSpec(steps, parse_window(args.window), args.mode, args.by, top_n=args.top)
    result = analyze_funnel(open_dataset(args), spec)
    if args.json:
        emit_json(as_json(result))
        return 0
    print(f"{spec.mode} funnel, window {args.window}, {result.steps[0].n_units:,} units entered")
    for s in result.steps:
        median = "" if math.isnan(s.median_seconds_from_previous) else \
            f"  median {s.median_seconds_from_previous:,.0f}s from previous"
        print(f"  {s.step}. {s.event:<24} {s.n_units:>10,}  {s.conversion_from_start:7.2%} of start  "
              f"{s.conversion_from_previous:7.2%} of previous{median}")
    for seg in result.breakdown:
        tests = ", ".join(f"step {s.step} p_adj {s.p_value_adjusted:.3g}" for s in seg.steps[1:]) if seg.tested \
            else f"not tested: {seg.reason}"
        print(f"  [{args.by}={seg.segment}] {seg.n_units:,} units -> {seg.steps[-1].conversion_from_start:.2%}"
              f"  ({tests})")
    for v in result.variants:
        print(f"  step {v.step} {v.variant} vs {v.control}: {v.abs_diff:+.2%} "
              f"[{v.ci_low:+.2%}, {v.ci_high:+.2%}] p_adj {v.p_value_adjusted:.3g}")
    return 0
