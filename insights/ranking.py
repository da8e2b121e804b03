"""Ranking that does not cry wolf: one multiple-testing family, redundancy pruning, impact and relevance.

1. Every test run (shown or not, including helper tests such as launch pre-trend checks) is one family;
   Benjamini-Hochberg adjusts all p-values together and only findings with an adjusted p-value at or below
   ``fdr`` are eligible. Checks that are not tests (duplicate rows, units in several variants) are eligible
   when they find something.
2. Score = impact x (1 + relevance). Impact is the units the finding concerns times its absolute relative
   effect (capped at ``max_rel_effect``): "how many units' worth of metric moved". Relevance (0-1) is the best
   match of the finding's names (dimension, value, event) to the past-initiative docs, leaving out
   ``common_terms`` (the north-star event, which every doc mentions). Launch changes with a
   pre-existing trend in the same direction count half. A data-quality count weighs the affected rows or
   units by ``min(1, 10 x share affected)``: a fault in a tenth of the data counts fully, a rare one little.
3. Explaining away (forward selection per metric, strongest evidence first): the segment-like finding with
   the smallest p-value is kept, and every other one on that metric is re-tested within strata of the kept
   ones (``reevaluate`` callback); one no longer significant at the family's cut-off, or whose direction
   flips, was explained by what is kept (nested or overlapping segments of correlated dimensions, the rest
   of a dimension after its outlier is taken out, a complement) and is dropped.
4. A funnel step that loses a segment explains that segment's conversion gap on the north star (tablets
   convert less because their checkout step is broken): when both survive, in the same direction, the
   segment finding is folded into the funnel step finding (the more specific one), which takes the larger
   score of the two.
5. Greedy pick by score. A candidate is one story with an already picked finding when it has the same
   subject (metric, dimension, value; a funnel step and a segment of the same value are one story), is its
   complement on a two-valued dimension, is another launch metric of the same launch date, or another
   breakdown of the same experiment comparison.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from insights.findings import Finding
from insights.initiatives import Initiative, relevance
from insights.stats import adjust_pvalues

SEGMENT_LIKE = ("segment", "distribution")
CHECK_KINDS = ("data_quality", "experiment_health")
DQ_FULL_WEIGHT_SHARE = 10.0

Reevaluate = Callable[[Sequence[Finding], Sequence[Finding]], dict[str, tuple[float, float]]]


@dataclass(frozen=True, slots=True)
class RankSettings:
    """Options of the ranking.

    fdr
        Benjamini-Hochberg false discovery rate level of the whole family. 0.01 by default: a top-5 list is a
        claim made to people without a data team, so a false alarm costs more than a missed small effect.
    top_k
        Findings returned.
    max_rel_effect
        Cap on the relative effect in the impact (a tiny baseline makes relative effects explode).
    """

    fdr: float = 0.01
    top_k: int = 5
    max_rel_effect: float = 3.0


@dataclass(frozen=True, slots=True)
class Ranked:
    """The outcome of ranking.

    top
        The top findings, best first, with ``score`` and ``rank_reason`` filled.
    eligible
        Every finding that survived the correction and was not dropped as redundant, best first (``top`` is
        its head).
    findings
        Every finding with its adjusted p-value, in input order.
    tests_run
        Size of the multiple-testing family.
    cutoff
        Largest raw p-value that survived (0 when none did).
    """

    top: tuple[Finding, ...]
    eligible: tuple[Finding, ...]
    findings: tuple[Finding, ...]
    tests_run: int
    cutoff: float


def effect_size(f: Finding, cap: float = 3.0) -> float:
    """Absolute relative effect used in the impact (distribution findings: |2 P(segment > rest) - 1|)."""
    if f.kind in CHECK_KINDS:
        share = f.subject_mean if not math.isnan(f.subject_mean) else 1.0
        return min(1.0, DQ_FULL_WEIGHT_SHARE * share) if not f.is_test else 1.0
    if f.kind == "distribution" and not math.isnan(f.detail("prob_greater")):
        size = abs(2 * f.detail("prob_greater") - 1)
        if not math.isnan(f.rel_effect):
            size = max(size, abs(f.rel_effect))
        return min(size, cap)
    return 0.0 if math.isnan(f.rel_effect) else min(abs(f.rel_effect), cap)


def adjust(findings: Sequence[Finding], extra_p_values: Sequence[float] = ()) -> tuple[list[Finding], int, list[float]]:
    """BH-adjust every test finding together with ``extra_p_values``; returns (findings, tests, extra adjusted)."""
    tests = [i for i, f in enumerate(findings) if f.is_test]
    ps = [findings[i].p_value for i in tests] + [p for p in extra_p_values]
    adj = adjust_pvalues(ps, "bh")
    out = list(findings)
    for j, i in enumerate(tests):
        out[i] = dataclasses.replace(out[i], p_value_adjusted=adj[j])
    n_tests = sum(1 for p in ps if not math.isnan(p))
    return out, n_tests, adj[len(tests):]


def _subject(f: Finding) -> tuple:
    return (f.metric, f.dimension, f.value) if f.dimension else (f.kind, f.metric, f.subject)


def _redundant(f: Finding, picked: Sequence[Finding], two_valued: set[tuple[str, str]]) -> Finding | None:
    for p in picked:
        if f.dimension and p.dimension and (f.dimension, f.value) == (p.dimension, p.value) and (
                f.metric == p.metric or {f.kind, p.kind} == {"segment", "funnel_step"}):
            return p
        if (f.dimension and f.dimension == p.dimension and f.metric == p.metric and f.value != p.value
                and (f.metric, f.dimension) in two_valued):
            return p
        if f.kind == p.kind == "launch_change" and f.key.rsplit(":", 1)[-1] == p.key.rsplit(":", 1)[-1]:
            return p
        if f.kind == p.kind == "experiment_effect" and (f.metric, f.subject) == (p.metric, p.subject):
            return p
        if not f.dimension and f.kind == p.kind and _subject(f) == _subject(p):
            return p
    return None


def _describe(f: Finding) -> str:
    if f.dimension:
        return f"{f.dimension} = {f.value}"
    return f.subject or f.kind.replace("_", " ")


def _smaller_side(pool: list[Finding], two_valued: set[tuple[str, str]]) -> list[Finding]:
    """On a two-valued dimension a segment and its complement are the same test: keep the smaller side (the
    exception is the natural subject), with the larger score of the two."""
    by_dim: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in pool:
        if f.dimension and (f.metric, f.dimension) in two_valued:
            by_dim.setdefault((f.kind, f.metric, f.dimension, ""), []).append(f)
    drop: set[str] = set()
    best: dict[str, float] = {}
    for group in by_dim.values():
        if len(group) == 2:
            small, large = sorted(group, key=lambda f: (f.n_units, f.key))
            drop.add(large.key)
            best[small.key] = max(small.score, large.score)
    return [dataclasses.replace(f, score=best.get(f.key, f.score)) for f in pool if f.key not in drop]


def _explain_away(
    pool: list[Finding], cutoff: float, reevaluate: Reevaluate | None
) -> tuple[list[Finding], dict[str, list[str]]]:
    """Forward selection of segment-like findings, strongest evidence first, per metric.

    The segment with the smallest p-value is kept; every other one is re-tested within strata of the kept
    ones and kept only if it stays significant at ``cutoff`` in the same direction. Picking by evidence
    rather than by score keeps the cause (tablet converts less) and drops its echo (the other devices
    convert more than "the rest").
    """
    anchors_of: dict[str, list[str]] = {}
    if reevaluate is None:
        return pool, anchors_of
    dropped: set[str] = set()
    for metric in sorted({f.metric for f in pool if f.kind in SEGMENT_LIKE}):
        queue = sorted((f for f in pool if f.kind in SEGMENT_LIKE and f.metric == metric),
                       key=lambda f: (f.p_value, f.key))
        kept: list[Finding] = []
        while queue:
            f = queue.pop(0)
            kept.append(f)
            retest = reevaluate(kept, queue) if queue else {}
            survivors = []
            for c in queue:
                eff, p = retest.get(c.key, (math.nan, math.nan))
                if math.isnan(p) or p > cutoff or eff * (1 if c.direction == "higher" else -1) <= 0:
                    dropped.add(c.key)
                else:
                    anchors_of[c.key] = [_describe(k) for k in kept]
                    survivors.append(c)
            queue = survivors
    return [f for f in pool if f.key not in dropped], anchors_of


def _fold_into_funnel_steps(pool: list[Finding]) -> list[Finding]:
    """Fold each segment finding into the strongest funnel step finding of the same segment and direction."""
    steps: dict[tuple[str | None, str | None, str], Finding] = {}
    for f in pool:
        k = (f.dimension, f.value, f.direction)
        if f.kind == "funnel_step" and f.dimension and (k not in steps or f.score > steps[k].score):
            steps[k] = f
    folded: dict[str, Finding] = {}
    drop: set[str] = set()
    for f in pool:
        step = steps.get((f.dimension, f.value, f.direction))
        if f.kind == "segment" and step is not None:
            have = folded.get(step.key, step)
            folded[step.key] = dataclasses.replace(
                have, score=max(have.score, f.score),
                rank_reason=f"{have.rank_reason}; explains the {f.direction} {f.metric_label} of {_describe(f)}")
            drop.add(f.key)
    out = [folded.get(f.key, f) for f in pool if f.key not in drop]
    return sorted(out, key=lambda f: (-f.score, f.key))


def rank(
    findings: Sequence[Finding],
    *,
    extra_p_values: Sequence[float] = (),
    docs: Sequence[Initiative] = (),
    settings: RankSettings | None = None,
    reevaluate: Reevaluate | None = None,
    common_terms: Sequence[str] = (),
) -> Ranked:
    """Adjust, filter, score, prune and pick the top findings (see module docstring)."""
    s = settings or RankSettings()
    adjusted, n_tests, _ = adjust(findings, extra_p_values)
    surviving = [f.p_value for f in adjusted if f.is_test and f.p_value_adjusted <= s.fdr]
    cutoff = max(surviving, default=0.0)
    scored = []
    for f in adjusted:
        names = [t for t in f.terms if t and t not in common_terms]
        rel, title = relevance(names, docs, f.subject) if docs else (0.0, None)
        impact = f.n_units * effect_size(f, s.max_rel_effect)
        factor = 0.5 if f.detail("pretrend_flag", 0.0) > 0 else 1.0
        score = impact * (1 + rel) * factor
        reason = (f"a data-quality check that found {f.n_units:,} affected {f.metric_label or 'units'}"
                  if f.kind in CHECK_KINDS and not f.is_test else
                  f"affects {f.n_units:,} units with a {effect_size(f, s.max_rel_effect):.0%} effect")
        if f.is_test:
            reason += f"; adjusted p = {f.p_value_adjusted:.2g} across {n_tests:,} tests"
        if title:
            reason += f"; {rel:.0%} match to the initiative doc '{title}'"
        if factor < 1:
            reason += "; counted half because a trend was already under way before the launch"
        scored.append(dataclasses.replace(f, impact=impact, relevance=rel, score=score, rank_reason=reason))
    pool = sorted((f for f in scored if (f.p_value_adjusted <= s.fdr if f.is_test else f.kind in CHECK_KINDS)),
                  key=lambda f: (-f.score, f.key))
    values_per_dim: dict[tuple[str, str], set[str]] = {}
    for f in scored:
        if f.dimension:
            values_per_dim.setdefault((f.metric, f.dimension), set()).add(f.value or "")
    two_valued = {k for k, v in values_per_dim.items() if len(v) <= 2}
    pool = _smaller_side(pool, two_valued)
    pool, anchors_of = _explain_away(pool, cutoff, reevaluate)
    pool = _fold_into_funnel_steps(pool)
    picked: list[Finding] = []
    for f in pool:
        if _redundant(f, picked, two_valued) is None:
            picked.append(f)
    top = []
    for _i, f in enumerate(picked[: s.top_k]):
        reason = f.rank_reason
        if f.key in anchors_of and anchors_of[f.key]:
            reason += "; still significant after accounting for " + ", ".join(anchors_of[f.key])
        top.append(dataclasses.replace(f, rank_reason=reason))
    return Ranked(tuple(top), tuple(top) + tuple(picked[s.top_k:]), tuple(scored), n_tests, cutoff)
