"""``insights profile PATH [--json]``: rows, units, time range, column roles and data-quality warnings."""

from __future__ import annotations

import argparse

from insights.cli import add_common, emit_json, open_dataset
from insights.profile import Profile, profile


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("profile", help="profile a file: shape, roles, columns, warnings")
    add_common(parser)
    parser.set_defaults(func=run)


def as_json(p: Profile) -> dict:
    """The public JSON contract of ``profile`` (docs/cli.md)."""
    return {
        "source": p.source,
        "shape": p.shape,
        "n_rows": p.n_rows,
        "n_units": p.n_units,
        "time_min": p.time_min,
        "time_max": p.time_max,
        "roles": p.roles,
        "columns": [{"name": c.name, "role": c.role, "dtype": c.dtype, "null_rate": c.null_rate,
                     "n_distinct": c.n_distinct, "samples": list(c.samples)} for c in p.columns],
        "warnings": [{"code": w.code, "message": w.message} for w in p.warnings],
    }


def run(args: argparse.Namespace) -> int:
    p = profile(open_dataset(args))
    if args.json:
        emit_json(as_json(p))
        return 0
    span = f"{p.time_min} to {p.time_max}" if p.time_min else "no timestamp"
    units = f"{p.n_units:,} units" if p.n_units is not None else "no unit id"
    print(f"{p.source}: {p.shape.replace('_', ' ')}, {p.n_rows:,} rows, {units}, {span}")
    width = max(len(c.name) for c in p.columns)
    for c in p.columns:
        print(f"  {c.name:<{width}}  {c.role:<9}  {c.dtype:<10}  nulls {c.null_rate:6.1%}  distinct {c.n_distinct:>9,}"
              f"  e.g. {', '.join(c.samples)}")
    for w in p.warnings:
        print(f"warning [{w.code}]: {w.message}")
    return 0
