"""The guard between an LLM's wording and the user: a reworded finding may not say anything the finding does not.

:func:`check_text` returns the reasons a text is not faithful to its finding (an empty list means it is):

numbers
    Every number must be one of the finding's numbers at the precision shown: a percentage (``7.6%``,
    ``7.6 percent``) is a rate or a relative change times 100; percentage points (``5.04 points``, ``5 pp``)
    are a difference of rates times 100; a plain number is a raw value, a count (``10,392``, ``10.4k``) or a
    p-value; ``1.4x`` / ``1.4 times`` is a ratio of the two means. ``7.6%`` matches 0.07604 because it is that
    value rounded to one decimal; ``7.5%`` does not. An explicit sign must agree with the value's sign.
    ``p < 0.001`` holds when the p-value is below the bound; ``over 10,000`` / ``nearly 8%`` hold when a
    value lies within 25% above (below) the bound. Numbers inside known names and dates quoted by the finding
    are not numbers.
direction
    For comparisons, words of movement (``increased``, ``higher``, ``more``; ``fell``, ``lower``, ``fewer``)
    must include the finding's direction when they are present at all.
names
    Values of the finding's own column and of the variant column other than the ones the finding is about
    (``desktop`` for a ``device = mobile`` finding) are swaps; distinctive values of other columns and names
    of other events are attributions the finding does not make; ``snake_case`` names, back-quoted names and
    ``column = value`` pairs must exist in the data.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from insights.dataset import Dataset
from insights.findings import Finding
from insights.phrasing import is_rate

COMPARISON_KINDS = ("segment", "distribution", "funnel_step", "experiment_effect", "launch_change")
COMMON_WORDS = frozenset(
    "free plus basic pro premium standard email organic direct paid other others none unknown true false yes no "
    "new returning web app control all rest high low".split()
)
UP_WORDS = ("increase", "increased", "increases", "increasing", "rise", "rises", "rose", "risen", "higher", "more",
            "up", "grew", "grow", "grows", "growth", "gain", "gains", "gained", "improve", "improved", "improves",
            "boost", "boosts", "boosted", "lifts", "lifted", "outperform", "outperforms", "above", "exceed",
            "exceeds", "jump", "jumped", "better", "greater", "larger", "climbed", "doubled", "tripled")
DOWN_WORDS = ("decrease", "decreased", "decreases", "decreasing", "fall", "falls", "fell", "fallen", "drop",
              "drops", "dropped", "lower", "less", "fewer", "down", "decline", "declined", "declines", "shrank",
              "worse", "underperform", "underperforms", "below", "lag", "lags", "lagging", "reduce", "reduced",
              "reduces", "cut", "lost", "lose", "loses", "hurt", "hurts", "smaller", "halved")
_NUMBER = re.compile(
    r"(?P<sign>[+\-\u2212])?(?P<cur>[$\u20ac\u00a3])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+)"
    r"(?P<exp>[eE][+\-\u2212]?\d+)?"
    r"(?P<suffix>\s*(?:%|percent\b|per\s*cent\b|percentage\s+points?\b|pct\s+points?\b|pp\b|points?\b"
    r"|k\b|thousand\b|m\b|million\b|x\b|\u00d7|times\b))?",
    re.IGNORECASE,
)
_BEFORE_NUMBER = re.compile(
    r"(?P<p>\bp(?:[\s\-]?values?)?\s*(?:of|is|was|=|:)?\s*)?(?P<cmp><=?|>=?|\u2264|\u2265|~|\b(?:under|below|less than"
    r"|fewer than|at most|over|above|more than|at least|nearly|almost|about|around|roughly|approximately))?\s*$",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\s*(?:to|and|-|\u2013|\u2014)\s*", re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_IDENT = re.compile(r"`([^`]+)`|\b((?:converted|count|sum|mean):[A-Za-z_][\w]*)"
                    r"|\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)\b")
_PAIR = re.compile(r"\b([A-Za-z_][\w]*)\s*==?\s*[`'\"]?([\w\-.]+)")
_COMPARATOR_PHRASE = re.compile(
    r"\b(?:more|less|fewer)\s+than\s+[$\u20ac\u00a3]?\d|\b(?:lower|upper)\s+(?:bound|limit)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names that exist in the data.

    columns
        Every column name.
    values
        Distinct values (as text) of the dimension and variant columns, by column.
    variant
        The variant column, if any.
    events
        Event names (metric targets of an event log).
    docs
        Titles of the past-initiative documents.
    """

    columns: frozenset[str]
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    variant: str | None = None
    events: frozenset[str] = frozenset()
    docs: tuple[str, ...] = ()

    def known(self, name: str) -> bool:
        """Whether ``name`` is a column, a value, an event or a metric spec over one of them."""
        bare = name.split(":", 1)[1] if ":" in name else name
        return (bare in self.columns or bare in self.events
                or any(bare in vals for vals in self.values.values()))


@dataclass(frozen=True, slots=True)
class _Num:
    value: float
    tol: float
    unit: str  # percent, points, plain, times
    signed: bool
    comparator: str
    p_context: bool
    text: str
    start: int
    end: int
    suffix: str


def vocabulary(ds: Dataset, docs: Iterable[str] = (), max_values: int = 500) -> Vocabulary:
    """The names of ``ds``: columns, values of its dimension and variant columns, events (and doc titles)."""
    from insights.metrics import event_values
    from insights.sql import quote_ident

    values: dict[str, frozenset[str]] = {}
    for col in dict.fromkeys([*ds.roles.dimensions, *([ds.roles.variant] if ds.roles.variant else [])]):
        rows = ds.query(f"SELECT DISTINCT CAST({quote_ident(col)} AS VARCHAR) FROM {ds.table_sql} "
                        f"WHERE {quote_ident(col)} IS NOT NULL LIMIT {int(max_values)}")
        values[col] = frozenset(str(r[0]) for r in rows)
    events = frozenset(event_values(ds)) if ds.shape == "event_log" and ds.roles.event else frozenset()
    return Vocabulary(frozenset(ds.column_names), values, ds.roles.variant, events, tuple(docs))


def _finite(xs: Iterable[float]) -> list[float]:
    return [float(x) for x in xs if x is not None and not math.isnan(float(x)) and not math.isinf(float(x))]


def candidates(f: Finding) -> dict[str, list[float]]:
    """The finding's numbers by the unit they may be written in."""
    rate = is_rate(f)
    details = dict(f.details)
    probs = [v for k, v in details.items() if k.startswith("prob")]
    means = [f.subject_mean, f.baseline_mean]
    diffs = [f.effect, f.ci_low, f.ci_high, details.get("pretrend_effect", math.nan)]
    percent = [x * 100 for x in _finite([f.rel_effect, *probs, *(means if rate else [])])]
    if not math.isnan(f.ci_low):
        percent.append(95.0)
    ratios = [a / b for a, b in ((f.subject_mean, f.baseline_mean), (f.baseline_mean, f.subject_mean))
              if b not in (0, 0.0) and not math.isnan(a) and not math.isnan(b)]
    out = {
        "percent": percent,
        "points": [x * 100 for x in _finite(diffs)] if rate else [],
        "plain": _finite([*means, *diffs, *details.values(), f.n_units, f.n_baseline, f.n_units + f.n_baseline,
                          f.p_value, f.p_value_adjusted]),
        "times": _finite([*ratios, 1 + f.rel_effect]),
        "p": _finite([f.p_value, f.p_value_adjusted, details.get("pretrend_p_value", math.nan)]),
    }
    for n in _parse_numbers(_DATE.sub(" ", f"{f.subject} {f.caveat}")):
        out[n.unit].append(n.value)  # numbers the finding's own words quote (``13 days``)
    return out


def _parse_numbers(text: str) -> list[_Num]:
    out = []
    for m in _NUMBER.finditer(text):
        start = m.start()
        sign = m.group("sign")
        if sign and start > 0 and text[start - 1].isalnum():
            sign, start = None, start + 1  # a hyphen of a range ("1.6-3.8"), not a sign
        elif start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
            continue  # part of a word or of a longer number
        num = m.group("num")
        decimals = len(num.split(".", 1)[1]) if "." in num else 0
        value = float(num.replace(",", ""))
        scale = 1.0
        exp = m.group("exp")
        if exp:
            scale = 10.0 ** int(exp[1:].replace("\u2212", "-"))
        suffix = (m.group("suffix") or "").strip().lower()
        unit = "plain"
        if suffix in ("%", "percent", "per cent") or suffix.startswith("per"):
            unit = "percent"
        if "point" in suffix or suffix == "pp":
            unit = "points"
        elif suffix in ("k", "thousand"):
            scale = 1e3
        elif suffix in ("m", "million"):
            scale = 1e6
        elif suffix in ("x", "\u00d7", "times"):
            unit = "times"
        value = -value if sign in ("-", "\u2212") else value
        before = _BEFORE_NUMBER.search(text[max(0, start - 30):start])
        p_ctx = bool(before and before.group("p"))
        comparator = (before.group("cmp") or "").lower() if before else ""
        out.append(_Num(value * scale, 0.5 * 10.0 ** -decimals * scale * (1 + 1e-9), unit, bool(sign), comparator,
                        p_ctx, m.group(0).strip(), start, m.end(), suffix))
    for i in range(len(out) - 2, -1, -1):  # "-5.6 to -4.5 points": the unit of a range's end applies to its start
        a, b = out[i], out[i + 1]
        if not a.suffix and b.suffix and _RANGE.fullmatch(text[a.end:b.start]):
            out[i] = dataclasses.replace(a, unit=b.unit, suffix=b.suffix)
    return out


def _matches(n: _Num, values: list[float]) -> bool:
    target = n.value if n.signed else abs(n.value)
    pool = values if n.signed else [abs(v) for v in values]
    if n.comparator in ("over", "above", "more than", "at least", ">", ">=", "\u2265"):
        return any(target <= v <= target * 1.25 for v in pool if target > 0)
    if n.comparator in ("under", "below", "less than", "fewer than", "at most", "nearly", "almost", "<", "<=",
                        "\u2264"):
        return any(target * 0.8 <= v <= target for v in pool if target > 0)
    if n.comparator in ("about", "around", "roughly", "approximately", "~"):
        return any(abs(v - target) <= max(n.tol, 0.05 * abs(v)) for v in pool)
    return any(abs(v - target) <= n.tol + 1e-12 * abs(v) for v in pool)


def _number_reasons(text: str, f: Finding) -> list[str]:
    cands = candidates(f)
    reasons = []
    for n in _parse_numbers(text):
        if n.p_context and n.comparator in ("<", "<=", "\u2264", "under", "below", "less than"):
            ok = any(p < abs(n.value) or math.isclose(p, abs(n.value)) for p in cands["p"])
        elif n.p_context:
            ok = _matches(n, cands["p"])
        else:
            ok = _matches(n, cands[n.unit])
        if not ok:
            reasons.append(f"the number {n.text!r} is not one of this finding's numbers")
    return reasons


def _direction_reasons(text: str, f: Finding) -> list[str]:
    if f.kind not in COMPARISON_KINDS or f.effect == 0 or math.isnan(f.effect):
        return []
    words = set(re.findall(r"[a-z]+", _COMPARATOR_PHRASE.sub(" ", text.lower())))
    up, down = words & set(UP_WORDS), words & set(DOWN_WORDS)
    same, other = (up, down) if f.effect > 0 else (down, up)
    if other and not same:
        return [f"the text says {sorted(other)[0]!r} but the finding is {'an increase' if f.effect > 0 else 'a drop'}"]
    return []


def _mentions(text: str, name: str) -> bool:
    forms = {name, name.replace("_", " ")}
    flags = 0 if (len(name) <= 3 or name.isupper()) else re.IGNORECASE
    return any(re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text, flags) for form in forms if form.strip())


def _distinctive(value: str) -> bool:
    if len(value) < 2 or not re.search(r"[A-Za-z]", value):
        return False
    if "_" in value or any(c.isdigit() for c in value) or value.isupper():
        return True
    return value.lower() not in COMMON_WORDS and len(value) >= 4


def _name_reasons(text: str, f: Finding, vocab: Vocabulary) -> list[str]:
    own = " ".join(filter(None, [f.subject, f.metric, f.metric_label, f.caveat, f.statement, f.dimension or "",
                                 f.value or "", *f.terms, *vocab.docs]))
    reasons = []
    for column, values in vocab.values.items():
        strict = column in (f.dimension, vocab.variant)
        for v in values:
            if (strict or _distinctive(v)) and _mentions(text, v) and not _mentions(own, v):
                what = "swaps in" if strict else "names"
                reasons.append(f"the text {what} {column} = {v}, which this finding is not about")
    for e in vocab.events:
        if _distinctive(e) and _mentions(text, e) and not _mentions(own, e):
            reasons.append(f"the text names the event {e}, which this finding is not about")
    for m in _IDENT.finditer(text):
        name = next(g for g in m.groups() if g)
        if not vocab.known(name) and not _mentions(own, name):
            reasons.append(f"the text names {name!r}, which is not in the data")
    for col, val in _PAIR.findall(text):
        if col in vocab.values and val not in vocab.values[col]:
            reasons.append(f"the text names {col} = {val}, which is not in the data")
    return reasons


def strip_names(text: str, f: Finding, vocab: Vocabulary) -> str:
    """``text`` without known names and quoted dates, so that the digits inside them are not read as numbers."""
    names = [*vocab.columns, *vocab.events, *vocab.docs, f.subject, f.value or "", f.dimension or ""]
    names += [v for vals in vocab.values.values() for v in vals]
    names += _DATE.findall(" ".join([f.subject, f.caveat, f.statement, *vocab.docs]))
    for name in sorted({n for n in names if n and re.search(r"\d", n)}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", " ", text)
    return text


def check_text(text: str, f: Finding, vocab: Vocabulary) -> list[str]:
    """Why ``text`` is not a faithful wording of ``f`` (empty when it is)."""
    reasons = _name_reasons(text, f, vocab)
    reasons += _number_reasons(strip_names(text, f, vocab), f)
    reasons += _direction_reasons(text, f)
    return reasons
