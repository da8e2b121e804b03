"""DuckDB SQL rewritten for another engine: sqlglot's transpiler plus the constructs it does not translate.

The core writes its SQL once, in DuckDB's dialect. :func:`to_dialect` parses it, applies the targeted rewrites
below and lets sqlglot write the target dialect. Each rewrite keeps DuckDB's meaning exactly:

- ``arg_min(x, y)`` / ``arg_max(x, y)`` skip rows where ``x`` or ``y`` is NULL (``arg_min_null`` only those where
  ``y`` is). PostgreSQL has neither: the first element of ``array_agg(x ORDER BY y)`` over those rows; Spark's
  ``min_by`` / ``max_by`` get the same NULL filter.
- ``epoch_us(ts)`` (microseconds since 1970) and ``make_timestamp(us)`` (its inverse): exact integer forms
  (PostgreSQL's ``to_timestamp`` goes through a double and can be off by a microsecond).
- ``hash(...)`` (a 64-bit bucket key): Spark's ``xxhash64`` (its ``hash`` has 32 bits and collides), PostgreSQL's
  ``md5`` of the values as text. Only equality of keys is used, and a collision only costs work.
- ``approx_count_distinct`` becomes an exact ``count(DISTINCT ...)``: the engines' sketches differ, and the
  core only compares it with a small threshold.
- ``date_diff('day', a, b)`` counts day boundaries crossed; Spark's ``datediff(DAY, ...)`` counts whole days.
- ``quantile_cont`` on Spark: the exact ``percentile`` (``percentile_cont(x, p)`` does not parse there).
- ``GROUP BY ALL`` on PostgreSQL: the select list's non-aggregate positions.
- A subquery in FROM without an alias gets one (PostgreSQL before 16 requires it).
- ``to_seconds(x)``: an interval of ``x`` seconds.
- ``AS MATERIALIZED`` is dropped on Spark (a CTE there is inlined or reused by the optimizer).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import sqlglot
from sqlglot import exp

from insights.sql import Dialect

_EPOCH = "TIMESTAMP '1970-01-01 00:00:00'"


def _not_null(*nodes: exp.Expression) -> exp.Condition:
    return exp.and_(*(exp.Not(this=exp.Is(this=n.copy(), expression=exp.Null())) for n in nodes))


def _arg_extreme(value: exp.Expression, order: exp.Expression, is_min: bool, keep_null: bool, dialect: Dialect,
                 where: exp.Expression | None) -> exp.Expression:
    """``arg_min``/``arg_max``/``arg_min_null`` (with an optional FILTER condition) in the target dialect."""
    cond = _not_null(order) if keep_null else _not_null(value, order)
    if where is not None:
        cond = exp.and_(exp.Paren(this=where.copy()), cond)
    if dialect == "spark":
        fn = exp.Anonymous(this="min_by" if is_min else "max_by", expressions=[value.copy(), order.copy()])
        return exp.Filter(this=fn, expression=exp.Where(this=cond))
    ordered = exp.Ordered(this=order.copy(), desc=not is_min, nulls_first=False)
    agg = exp.ArrayAgg(this=exp.Order(this=value.copy(), expressions=[ordered]))
    return exp.Bracket(this=exp.Paren(this=exp.Filter(this=agg, expression=exp.Where(this=cond))),
                       expressions=[exp.Literal.number(1)], offset=1)


def _is_arg_extreme(node: exp.Expression) -> bool:
    return isinstance(node, (exp.ArgMin, exp.ArgMax)) or (
        isinstance(node, exp.Anonymous) and str(node.this).lower() in ("arg_min_null", "arg_max_null"))


def _arg_extreme_parts(node: exp.Expression) -> tuple[exp.Expression, exp.Expression, bool, bool]:
    """(value, ordering, is_min, keep_null) of an arg_min/arg_max call."""
    if isinstance(node, exp.Anonymous):
        value, order = node.expressions
        return value, order, str(node.this).lower() == "arg_min_null", True
    return node.this, node.expression, isinstance(node, exp.ArgMin), False


def _is_agg(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.AggFunc) for n in node.walk())


def _rewrite(node: exp.Expression, dialect: Dialect, aliases: Iterator[int]) -> exp.Expression:
    if isinstance(node, exp.Filter) and _is_arg_extreme(node.this):
        return _arg_extreme(*_arg_extreme_parts(node.this), dialect, node.expression.this)
    if _is_arg_extreme(node) and not isinstance(node.parent, exp.Filter):
        return _arg_extreme(*_arg_extreme_parts(node), dialect, None)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch_us":
        arg = node.expressions[0].copy()
        if dialect == "spark":
            return exp.Anonymous(this="unix_micros", expressions=[exp.cast(arg, "TIMESTAMP")])
        extract = exp.Extract(this=exp.var("EPOCH"), expression=arg)
        return exp.cast(exp.Mul(this=extract, expression=exp.Literal.number(1_000_000)), "BIGINT")
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None and \
            node.args["scale"].name in ("6", "3"):
        factor = 1_000 if node.args["scale"].name == "3" else 1
        if dialect == "spark":
            fn = "timestamp_micros" if factor == 1 else "timestamp_millis"
            return exp.cast(exp.Anonymous(this=fn, expressions=[node.this.copy()]), "TIMESTAMP_NTZ")
        micros = exp.Mul(this=exp.Paren(this=node.this.copy()),
                         expression=exp.Interval(this=exp.Literal.string(f"{factor} microsecond")))
        return exp.Add(this=sqlglot.parse_one(_EPOCH, read="postgres"), expression=micros)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_seconds":
        return exp.Mul(this=exp.Paren(this=node.expressions[0].copy()),
                       expression=exp.Interval(this=exp.Literal.string("1 second")))
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        args = [a.copy() for a in node.expressions]
        if dialect == "spark":
            return exp.Anonymous(this="xxhash64", expressions=args)
        text = exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string("|"),
                                                           *(exp.cast(a, "TEXT") for a in args)])
        return exp.Anonymous(this="md5", expressions=[text])
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this.copy()]))
    if isinstance(node, exp.DateDiff) and node.unit and node.unit.name.upper() == "DAY" and dialect == "spark":
        return exp.Anonymous(this="datediff", expressions=[exp.cast(node.this.copy(), "DATE"),
                                                           exp.cast(node.expression.copy(), "DATE")])
    if isinstance(node, exp.PercentileCont) and dialect == "spark":
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression.copy()])
    if isinstance(node, exp.Median) and dialect == "spark":
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), exp.Literal.number(0.5)])
    if isinstance(node, exp.CTE) and dialect == "spark" and node.args.get("materialized"):
        node.set("materialized", None)
    if isinstance(node, exp.Select) and dialect == "postgres":
        group = node.args.get("group")
        if group is not None and group.args.get("all"):
            positions = [exp.Literal.number(i + 1) for i, e in enumerate(node.expressions) if not _is_agg(e)]
            node.set("group", exp.Group(expressions=positions) if positions else None)
    if isinstance(node, exp.Subquery) and not node.alias and isinstance(node.parent, (exp.From, exp.Join)):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{next(aliases)}")))
    return node


def to_dialect(sql: str, dialect: Dialect, *, pretty: bool = False) -> str:
    """Translate core DuckDB SQL (parameters already inlined) to ``dialect``; DuckDB SQL is returned as is."""
    if dialect == "duckdb":
        return sql
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    out, aliases = [], itertools.count(1)
    for tree in statements:
        # children before parents, so that a rewritten call copies already rewritten arguments
        for node in reversed([n for n in tree.dfs() if isinstance(n, exp.Expression)]):
            new = _rewrite(node, dialect, aliases)
            if new is not node:
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
        out.append(tree.sql(dialect=dialect, pretty=pretty))
    return ";\n".join(out)
