"""Link the words of a question to the loaded schema: events, columns, values, time ranges.

Matching works on stemmed lower-case tokens, longest phrase first, each token used once:
``add to cart`` and ``added to cart`` both become the event ``add_to_cart``, ``paid social`` the value
``channel = 'paid_social'``, ``by country`` the dimension ``country``. Values of three characters or fewer
(``DE``, ``US``) only match when written in the data's own case, so the English words "in" and "us" do not
become countries. Every token must be either linked or a known function word; the rest is reported as
not understood, so the caller can decline instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from insights.dataset import Dataset, is_numeric
from insights.metrics import event_values
from insights.sql import quote_ident

MAX_VALUES = 50
"""Text columns with at most this many distinct values have their values linked."""

_TOKEN = re.compile(r"[A-Za-z0-9]+")
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_LAST_N = re.compile(r"\b(?:last|past|previous)\s+(\d+)\s+(day|week|month)s?\b", re.IGNORECASE)
_LAST_ONE = re.compile(r"\b(?:last|past|previous)\s+(day|week|month)\b", re.IGNORECASE)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")


def stem(word: str) -> str:
    """A crude English stem: ``purchases``/``purchased``/``purchasing`` -> ``purchas``, ``countries`` -> ``country``."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s", "e"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


# Word stems that stand for an event-name stem (applied only when such an event exists).
EVENT_SYNONYMS: dict[str, str] = {
    "buy": "purchas", "bought": "purchas", "buyer": "purchas", "order": "purchas",
    "purchaser": "purchas", "carted": "cart", "visit": "session", "exposed": "exposur",
}  # fmt: skip
# Tokens of event names too generic to stand for an event on their own.
GENERIC_EVENT_TOKENS = frozenset({"begin", "add", "to", "start", "item", "experiment", "view", "page", "event", "the"})
# Phrases naming a dimension column (stemmed words -> a word that appears in the column's name).
DIMENSION_SYNONYMS: dict[str, str] = {"platform": "device", "source": "channel", "acquisition": "channel",
                                      "group": "variant", "arm": "variant", "version": "variant"}
NUMERIC_SYNONYMS: dict[str, str] = {"sal": "revenue", "sales": "revenue", "spend": "revenue", "gmv": "revenue",
                                    "money": "revenue", "income": "revenue"}
COUNTRY_NAMES: dict[str, str] = {
    "germany": "DE", "german": "DE", "united states": "US", "usa": "US", "america": "US", "american": "US",
    "uk": "GB", "britain": "GB", "british": "GB", "united kingdom": "GB", "england": "GB", "france": "FR",
    "french": "FR", "brazil": "BR", "brazilian": "BR", "india": "IN", "indian": "IN", "canada": "CA",
    "canadian": "CA", "spain": "ES", "spanish": "ES",
}  # fmt: skip

# Words that carry meaning for the shape or the metric (matched on stems).
KEYWORDS: dict[str, frozenset[str]] = {
    "less": frozenset({"less", "lower", "fewer", "smaller", "worse", "below", "decreas", "reduc", "lose", "loss",
                       "hurt", "underperform"}),
    "more": frozenset({"more", "higher", "greater", "bigger", "larger", "better", "above", "increas", "rais",
                       "lift", "improv", "beat", "outperform", "boost"}),
    "differ": frozenset({"differ", "different", "differently", "vs", "versus", "compar", "than", "against", "between"}),
    "rest": frozenset({"other", "others", "rest", "everyone", "everybody", "non"}),
    "units": frozenset({"user", "customer", "peopl", "person", "visitor", "player", "account", "shopper",
                        "member", "unit", "who", "distinct", "uniqu", "active"}),
    "rate": frozenset({"conversion", "convert", "rate", "share", "percent", "percentag", "proportion",
                       "fraction", "likely", "likelihood", "probability", "ratio", "chance"}),
    "count": frozenset({"many", "number", "count", "much"}),
    "average": frozenset({"averag", "mean", "typical"}),
    "total": frozenset({"total", "sum", "overall", "all"}),
    "per": frozenset({"per", "each", "every", "by", "across", "split", "breakdown", "break"}),
    "funnel": frozenset({"funnel", "step", "proceed", "continu", "go", "move", "reach", "drop", "dropoff",
                         "through", "then", "after", "later", "went", "progress"}),
    "size": frozenset({"bigger", "larger", "smaller", "size", "big", "larg", "small", "expensiv", "cheaper",
                       "valu", "worth", "basket"}),
    "rows": frozenset({"event", "row", "record"}),
    "negation": frozenset({"not", "no", "don", "doesn", "didn", "isn", "aren", "never", "nor"}),
    "time": frozenset({"time", "trend", "daily", "weekly", "monthly", "hourly", "day", "week", "month", "hour",
                       "date", "over"}),
}
# Function words and question words that need no link.
FILLER = frozenset("""
a an the of to in on at for from with and or is are was were be been being do does has have had i me my we our
you your it its this that these those what which how when where why show list give tell find get compute calculate
there their they them than as per by vs whose whom any some no not yes data dataset table group groups did doing
while whereas who can could would should will shall might may must also too very really much quite so only just
cohort segment segments value values versus compare compared comparison against across each every split breakdown
whole entire overall all ever least most lowest highest top bottom grouped rank ranked sort sorted order ordered
up down over into out between among same both either neither one two three versus about around like versus let
here answer question please result results number numbers kind type broken break metric metrics statistic
add added adding item items begin began begun start started view page t s did got made make
before after since until prior starting during
""".split())  # fmt: skip


@dataclass(frozen=True, slots=True)
class ValueLink:
    """A value of a column named in the text, e.g. ``device = 'mobile'``."""

    column: str
    value: str
    position: int

    @property
    def label(self) -> str:
        return f"{self.column} = {self.value!r}"


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A time filter in the data's own time: ``start <= t < end`` (either side open when None)."""

    start: dt.datetime | None
    end: dt.datetime | None
    label: str


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What can be linked in one dataset: events, text values per column, column names, time span."""

    events: tuple[str, ...]
    values: dict[str, tuple[str, ...]]
    dimensions: tuple[str, ...]
    numeric: tuple[str, ...]
    time_min: dt.datetime | None
    time_max: dt.datetime | None


@dataclass
class Links:
    """Everything linked in one question, in text order, plus the words that could not be linked."""

    events: list[tuple[str, int]] = field(default_factory=list)
    values: list[ValueLink] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)
    phrases: set[str] = field(default_factory=set)
    time_range: TimeRange | None = None
    grain: str | None = None
    unknown: list[str] = field(default_factory=list)

    def has(self, *keys: str) -> bool:
        return any(k in self.keywords for k in keys)

    def event_names(self) -> list[str]:
        return list(dict.fromkeys(e for e, _ in self.events))


def build_lexicon(ds: Dataset) -> Lexicon:
    """Read event names, low-cardinality text values and the time span of ``ds``."""
    r = ds.roles
    values: dict[str, tuple[str, ...]] = {}
    skip = {r.unit, r.time, r.event}
    for col in ds.columns:
        if col.name in skip or not col.dtype.upper().startswith(("VARCHAR", "TEXT", "STRING", "ENUM")):
            continue
        q = quote_ident(col.name)
        rows = ds.query(f"SELECT DISTINCT CAST({q} AS VARCHAR) FROM {ds.table_sql} WHERE {q} IS NOT NULL "
                        f"LIMIT {MAX_VALUES + 1}")
        if len(rows) <= MAX_VALUES:
            values[col.name] = tuple(sorted(str(v[0]) for v in rows))
    numeric = tuple(c.name for c in ds.columns if is_numeric(c.dtype.upper()) and c.name not in skip)
    tmin = tmax = None
    if r.time:
        tmin, tmax = ds.query(f"SELECT min({ds.time_sql()}), max({ds.time_sql()}) FROM {ds.table_sql}")[0]
    return Lexicon(tuple(event_values(ds)), values, tuple(r.dimensions) + ((r.variant,) if r.variant else ()),
                   numeric, tmin, tmax)


def _words(text: str) -> list[str]:
    return [stem(w) for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


@dataclass(frozen=True, slots=True)
class _Candidate:
    stems: tuple[str, ...]
    kind: str  # event | value | dimension | numeric | phrase
    target: tuple[str, ...]
    exact: str | None = None  # case-sensitive surface form for short values


def _candidates(lex: Lexicon) -> list[_Candidate]:
    out: list[_Candidate] = []
    token_owner: dict[str, set[str]] = {}
    for e in lex.events:
        words = tuple(_words(e))
        out.append(_Candidate(words, "event", (e,)))
        for w in words:
            token_owner.setdefault(w, set()).add(e)
    for w, owners in token_owner.items():
        if len(owners) == 1 and w not in GENERIC_EVENT_TOKENS and len(w) > 2:
            out.append(_Candidate((w,), "event", (next(iter(owners)),)))
    for syn, target in EVENT_SYNONYMS.items():
        owners = token_owner.get(target, set())
        if len(owners) == 1:
            out.append(_Candidate((syn,), "event", (next(iter(owners)),)))
    for col, vals in lex.values.items():
        for v in vals:
            if len(v.strip()) <= 3:
                out.append(_Candidate(tuple(_words(v)), "value", (col, v), exact=v))
            elif _words(v):
                out.append(_Candidate(tuple(_words(v)), "value", (col, v)))
        if col.lower() in ("country", "country_code", "countries", "nation"):
            for name, code in COUNTRY_NAMES.items():
                if code in vals:
                    out.append(_Candidate(tuple(_words(name)), "value", (col, code)))
    for col in lex.dimensions:
        out.append(_Candidate(tuple(_words(col)), "dimension", (col,)))
        for syn, word in DIMENSION_SYNONYMS.items():
            if word in _words(col):
                out.append(_Candidate((syn,), "dimension", (col,)))
    for col in lex.numeric:
        out.append(_Candidate(tuple(_words(col)), "numeric", (col,)))
        for syn, word in NUMERIC_SYNONYMS.items():
            if word in _words(col):
                out.append(_Candidate((syn,), "numeric", (col,)))
    for phrase in ("order value", "basket size", "order size", "aov", "arpu", "per user", "per customer",
                   "per unit", "per person", "per head", "per order", "per purchase", "per day", "per week",
                   "per month", "per hour", "each day", "each week", "by day", "by week", "by month", "by hour",
                   "over time", "everyone else", "all other", "the rest"):
        out.append(_Candidate(tuple(_words(phrase)), "phrase", (phrase,)))
    out.sort(key=lambda c: -len(c.stems))
    return out


def _time_range(text: str, lex: Lexicon) -> tuple[TimeRange | None, str]:
    """Find one time filter; return it and the text with the phrase removed."""
    end = lex.time_max
    if end is not None:
        last_day = dt.datetime.combine(end.date(), dt.time()) + dt.timedelta(days=1)
        m = _LAST_N.search(text) or _LAST_ONE.search(text)
        if m:
            n = int(m.group(1)) if m.re is _LAST_N else 1
            unit = m.group(m.re.groups)
            days = n * {"day": 1, "week": 7, "month": 30}[unit.lower()]
            start = last_day - dt.timedelta(days=days)
            label = f"{m.group(0).strip()}: {start.date()} to {(last_day - dt.timedelta(days=1)).date()} " \
                    "(the latest days in the data)"
            return TimeRange(start, last_day, label), text[: m.start()] + " " + text[m.end():]
    dates = _ISO_DATE.findall(text)
    lowered = text.lower()
    if dates:
        d = [dt.datetime.fromisoformat(x) for x in dates]
        rest = _ISO_DATE.sub(" ", text)
        if len(d) >= 2:
            return TimeRange(d[0], d[1] + dt.timedelta(days=1), f"{dates[0]} to {dates[1]}"), rest
        if re.search(r"\b(before|until|prior to)\s+" + dates[0], lowered):
            return TimeRange(None, d[0], f"before {dates[0]}"), rest
        if re.search(r"\b(after|since|from|starting)\s+" + dates[0], lowered):
            return TimeRange(d[0], None, f"from {dates[0]} on"), rest
        return TimeRange(d[0], d[0] + dt.timedelta(days=1), f"on {dates[0]}"), rest
    if lex.time_max is not None:
        for i, month in enumerate(MONTHS, start=1):
            m = re.search(rf"\b(in|during)\s+{month}\b", lowered)
            if m:
                year = lex.time_max.year if i <= lex.time_max.month else lex.time_max.year - 1
                start = dt.datetime(year, i, 1)
                stop = dt.datetime(year + (i == 12), i % 12 + 1, 1)
                return TimeRange(start, stop, f"{month.title()} {year}"), text[: m.start()] + " " + text[m.end():]
    return None, text


GRAINS = {"daily": "day", "day": "day", "weekly": "week", "week": "week", "monthly": "month", "month": "month",
          "hourly": "hour", "hour": "hour"}


def link(text: str, lex: Lexicon) -> Links:
    """Link the words of ``text`` to ``lex``."""
    links = Links()
    links.time_range, rest = _time_range(text, lex)
    raw = [(m.group(0), m.start()) for m in _TOKEN.finditer(rest)]
    stems = [stem(w) for w, _ in raw]
    used = [False] * len(raw)
    for cand in _candidates(lex):
        n = len(cand.stems)
        if n == 0:
            continue
        for i in range(len(stems) - n + 1):
            if any(used[i: i + n]) or tuple(stems[i: i + n]) != cand.stems:
                continue
            if cand.exact is not None and " ".join(w for w, _ in raw[i: i + n]) != cand.exact:
                continue
            for j in range(i, i + n):
                used[j] = True
            pos = raw[i][1]
            if cand.kind == "event":
                links.events.append((cand.target[0], pos))
            elif cand.kind == "value":
                links.values.append(ValueLink(cand.target[0], cand.target[1], pos))
            elif cand.kind == "dimension":
                links.dimensions.append(cand.target[0])
            elif cand.kind == "numeric":
                links.numeric.append(cand.target[0])
            else:
                links.phrases.add(cand.target[0])
    for i, s in enumerate(stems):
        if used[i]:
            continue
        for key, words in KEYWORDS.items():
            if s in words or raw[i][0].lower() in words:
                links.keywords.add(key)
                used[i] = True
        if s in GRAINS or raw[i][0].lower() in GRAINS:
            links.grain = links.grain or GRAINS.get(s, GRAINS.get(raw[i][0].lower()))
        if not used[i] and raw[i][0].lower() not in FILLER and s not in FILLER and not s.isdigit():
            links.unknown.append(raw[i][0])
    for phrase in links.phrases:
        grain = phrase.split()[-1]
        if grain in GRAINS and phrase.split()[0] in ("per", "each", "by"):
            links.grain = GRAINS[grain]
    links.events.sort(key=lambda e: e[1])
    links.values.sort(key=lambda v: v.position)
    links.dimensions = list(dict.fromkeys(links.dimensions))
    links.numeric = list(dict.fromkeys(links.numeric))
    return links


def describe(items: Iterable[str]) -> str:
    return ", ".join(items) or "nothing"
