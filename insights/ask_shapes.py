"""Recognise the analysis a linked question asks for: its shape and its measure.

Shapes: ``scalar`` (one number), ``breakdown`` (a measure by a dimension), ``over_time`` (by day, week, month
or hour), ``compare`` (one group against another or against the rest, with a test) and ``funnel`` (units
moving through two or more events in order). Measures: ``units`` (distinct units), ``events`` (rows),
``rate`` (share of units that did an event), ``per_unit_sum`` / ``per_unit_count`` (a column summed or an event
counted per unit, averaged over units), ``row_mean`` (a column averaged over the rows that have it, e.g. order
value), ``total`` (a column summed over rows) and ``funnel``.

``plan_question`` either returns a :class:`Plan` or raises :class:`NotUnderstood` with what it understood and
what it still needs: it never guesses a metric it was not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from insights.ask_linking import Lexicon, Links, TimeRange, ValueLink, describe

Shape = Literal["scalar", "breakdown", "over_time", "compare", "funnel"]
Measure = Literal["units", "events", "rate", "per_unit_sum", "per_unit_count", "row_mean", "total", "funnel"]
Direction = Literal["less", "more", "differ"]
REST = "(others)"
CONVERSION_EVENTS = ("purchase", "order", "converted", "conversion", "subscribe", "signup")
PER_UNIT_PHRASES = ("per user", "per customer", "per unit", "per person", "per head", "arpu")
ORDER_PHRASES = ("order value", "basket size", "order size", "aov", "per order", "per purchase")


class NotUnderstood(Exception):
    """The question could not be mapped; ``message`` says what was understood and what is missing."""

    def __init__(self, message: str, understood: dict[str, object]) -> None:
        super().__init__(message)
        self.message = message
        self.understood = understood


@dataclass(frozen=True, slots=True)
class Plan:
    """What to compute, in schema terms.

    shape, measure
        See the module docstring.
    event
        Event the measure is about (None for column measures over all rows or plain unit counts).
    column
        Numeric column of ``per_unit_sum``, ``row_mean`` and ``total``.
    steps
        Funnel events in order.
    dimension
        Column of a breakdown or a comparison.
    groups
        Compared values: (subject, reference); the reference is ``REST`` for "the others".
    filters
        Values every row or unit must have (several values of one column mean any of them).
    time_range, grain
        Time filter and the time bucket of ``over_time``.
    direction
        For a comparison stated with a direction: the subject is ``less``/``more`` than the reference,
        or ``differ``.
    exposure
        Exposure event: variant questions count exposed units from their first exposure on.
    """

    shape: Shape
    measure: Measure
    event: str | None = None
    column: str | None = None
    steps: tuple[str, ...] = ()
    dimension: str | None = None
    groups: tuple[str, ...] = ()
    filters: tuple[ValueLink, ...] = ()
    time_range: TimeRange | None = None
    grain: str = "day"
    direction: Direction | None = None
    exposure: str | None = None
    notes: tuple[str, ...] = field(default=())


def _default_conversion_event(lex: Lexicon) -> str | None:
    for name in CONVERSION_EVENTS:
        for e in lex.events:
            if e.lower() == name:
                return e
    return None


def _exposure_event(lex: Lexicon) -> str | None:
    hits = [e for e in lex.events if "exposure" in e.lower() or "exposed" in e.lower() or "assign" in e.lower()]
    return hits[0] if len(hits) == 1 else None


def _understood(links: Links) -> dict[str, object]:
    out: dict[str, object] = {}
    if links.events:
        out["events"] = links.event_names()
    if links.numeric:
        out["columns"] = links.numeric
    if links.values:
        out["values"] = [v.label for v in links.values]
    if links.dimensions:
        out["dimensions"] = links.dimensions
    if links.time_range:
        out["time"] = links.time_range.label
    return out


def _measure(links: Links, lex: Lexicon, comparing: bool, over_time: bool) -> tuple[Measure, str | None, str | None]:
    """(measure, event, column) or NotUnderstood."""
    events = [e for e in links.event_names()]
    phrases = links.phrases
    per_unit = any(p in phrases for p in PER_UNIT_PHRASES)
    if links.numeric or any(p in phrases for p in ORDER_PHRASES) or (links.has("size") and links.numeric):
        if len(links.numeric) > 1:
            raise NotUnderstood(f"Several numeric columns were named ({describe(links.numeric)}); ask about one.",
                                _understood(links))
        numeric = links.numeric or [c for c in lex.numeric if "revenue" in c.lower() or "amount" in c.lower()]
        if len(numeric) != 1:
            raise NotUnderstood("Order value needs one amount column, and none was found or named.",
                                _understood(links))
        event = events[0] if len(events) == 1 else None
        if per_unit:
            return "per_unit_sum", None, numeric[0]
        if any(p in phrases for p in ORDER_PHRASES) or links.has("average") or links.has("size"):
            return "row_mean", event, numeric[0]
        return "total", event, numeric[0]
    purchase = _default_conversion_event(lex)
    if len(events) == 1 and events[0] == purchase and links.has("size") and lex.numeric:
        amount = [c for c in lex.numeric if "revenue" in c.lower() or "amount" in c.lower() or "value" in c.lower()]
        if len(amount) == 1:
            return "row_mean", events[0], amount[0]
    if len(events) == 1:
        event = events[0]
        if per_unit and (links.has("count", "average") or not links.has("rate")):
            return "per_unit_count", event, None
        if links.has("rate"):
            return "rate", event, None
        if links.has("count"):
            return ("units" if links.has("units") else "events"), event, None
        if comparing:
            return "rate", event, None
        if over_time:
            return ("units" if links.has("units") else "events"), event, None
        return ("units" if links.has("units") else "events"), event, None
    if links.has("rate"):
        if purchase is None:
            raise NotUnderstood("Which event counts as converting? Name it, e.g. 'conversion to purchase'.",
                                _understood(links))
        return "rate", purchase, None
    if links.has("units") and (links.has("count") or over_time or not comparing):
        return "units", None, None
    if links.has("rows") and links.has("count"):
        return "events", None, None
    raise NotUnderstood("I could not tell which metric you mean: name an event (e.g. purchase), a rate "
                        "(conversion to an event), a number column (e.g. revenue) or a count of users.",
                        _understood(links))


def _compare_groups(links: Links, lex: Lexicon, variant: str | None) -> tuple[str, tuple[str, ...]] | None:
    """The compared column and (subject, reference), when the question compares groups."""
    by_col: dict[str, list[ValueLink]] = {}
    for v in links.values:
        by_col.setdefault(v.column, []).append(v)
    pairs = [c for c, vs in by_col.items() if len({v.value for v in vs}) == 2]
    if len(pairs) == 1:
        vs = by_col[pairs[0]]
        return pairs[0], tuple(dict.fromkeys(v.value for v in vs))
    if len(pairs) > 1:
        return None
    directed = links.has("less", "more", "differ", "rest")
    if not directed:
        return None
    singles = [c for c, vs in by_col.items() if len(vs) >= 1]
    if variant in singles and not links.has("rest"):
        values = lex.values.get(variant, ())
        subject = by_col[variant][0].value
        others = [v for v in values if v != subject]
        if len(others) == 1:
            return variant, (subject, others[0])
    if len(singles) == 1:
        return singles[0], (by_col[singles[0]][0].value, REST)
    return None


def plan_question(links: Links, lex: Lexicon, variant: str | None) -> Plan:
    """Turn links into a plan, or raise NotUnderstood."""
    if links.unknown:
        raise NotUnderstood(f"I did not understand: {describe(repr(w) for w in links.unknown)}. "
                            "Name events, columns and values as they appear in the data.", _understood(links))
    if links.has("negation"):
        raise NotUnderstood("Negated statements are not checked; state the claim positively "
                            "(e.g. 'A converts less than B').", _understood(links))
    events = links.event_names()
    compared = _compare_groups(links, lex, variant)
    used_cols = {compared[0]} if compared else set()
    filters = tuple(v for v in links.values if v.column not in used_cols)
    valued = {v.column for v in links.values}
    dims = [d for d in links.dimensions if d not in valued]
    over_time = links.grain is not None or "over time" in links.phrases
    direction: Direction | None = None
    if links.has("less") and not links.has("more"):
        direction = "less"
    elif links.has("more") and not links.has("less"):
        direction = "more"
    elif links.has("differ") and compared is not None:
        direction = "differ"
    if len(dims) > 1:
        raise NotUnderstood(f"Break the result down by one column at a time (named: {describe(dims)}).",
                            _understood(links))
    if compared is not None and dims:
        raise NotUnderstood(f"Either compare {describe(compared[1])} or break down by {dims[0]}, not both.",
                            _understood(links))
    exposure = None
    variant_involved = variant is not None and (variant in dims or variant in valued)
    if variant_involved:
        exposure = _exposure_event(lex)
    common = {"filters": filters, "time_range": links.time_range, "exposure": exposure}
    if len(events) >= 2:
        steps = tuple(e for e in events if e != exposure) if exposure else tuple(events)
        if len(steps) < 2:
            steps = tuple(events)
        if compared is not None:
            return Plan("compare", "funnel", steps=steps, dimension=compared[0], groups=compared[1],
                        direction=direction, **common)  # type: ignore[arg-type]
        return Plan("breakdown" if dims else "funnel", "funnel", steps=steps, dimension=dims[0] if dims else None,
                    **common)  # type: ignore[arg-type]
    measure, event, column = _measure(links, lex, compared is not None, over_time)
    if compared is not None:
        if measure == "units" and event is None:
            raise NotUnderstood("Comparing groups needs a measure: a rate (conversion to an event), an average "
                                "or a per-user value.", _understood(links))
        remap: dict[str, Measure] = {"events": "per_unit_count", "total": "per_unit_sum", "units": "rate"}
        measure = remap.get(measure, measure)
        return Plan("compare", measure, event, column, dimension=compared[0], groups=compared[1],
                    direction=direction, **common)  # type: ignore[arg-type]
    if over_time:
        if measure not in ("units", "events", "total", "row_mean"):
            raise NotUnderstood("Over time I can count users or events, or sum or average a column; "
                                "rates over time are not supported yet.", _understood(links))
        return Plan("over_time", measure, event, column, grain=links.grain or "day", **common)  # type: ignore[arg-type]
    if dims:
        return Plan("breakdown", measure, event, column, dimension=dims[0], **common)  # type: ignore[arg-type]
    return Plan("scalar", measure, event, column, **common)  # type: ignore[arg-type]


def understood_of(plan: Plan) -> dict[str, object]:
    """A readable summary of a plan, for "what I understood"."""
    out: dict[str, object] = {"shape": plan.shape, "measure": plan.measure}
    if plan.event:
        out["event"] = plan.event
    if plan.column:
        out["column"] = plan.column
    if plan.steps:
        out["steps"] = list(plan.steps)
    if plan.dimension:
        out["dimension"] = plan.dimension
    if plan.groups:
        out["groups"] = list(plan.groups)
    if plan.filters:
        out["filters"] = [f.label for f in plan.filters]
    if plan.time_range:
        out["time"] = plan.time_range.label
    if plan.shape == "over_time":
        out["grain"] = plan.grain
    if plan.direction:
        out["direction"] = plan.direction
    if plan.exposure:
        out["exposure"] = (f"exposed units only, counted from their first {plan.exposure}; "
                           "units seen in several variants are left out")
    return out
