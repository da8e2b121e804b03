"""Past-initiative documents (markdown or text): launch dates, terms, and relevance to names in the data.

A document gives a title (its first ``#`` heading, else the file name), zero or more launch dates (lines
``Launch date: YYYY-MM-DD``, case-insensitive, also ``Launched: ...``) and its terms: the words of the title
and of any ``Terms:``/``Keywords:``/``Metrics:`` line, plus every word of the body. Relevance of a name
(``add_to_cart``, ``paid_social``, ``device``) is the share of its word tokens found in a document; a name
that appears as a phrase (``add to cart``) scores 1. The best document wins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from insights.errors import InsightsError

_LAUNCH = re.compile(r"^\W*(?:launch(?:ed)?(?:\s+date)?|released?|shipped)\s*[:\-]\s*\**\s*(\d{4}-\d{2}-\d{2})",
                     re.IGNORECASE | re.MULTILINE)
_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_STATUS = re.compile(r"^\W*status\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_EXPERIMENT = re.compile(r"\b(experiment|a/b|ab test|split test)")
_NOT_EXPERIMENT = re.compile(r"\b(no|not|without)\s+(an?\s+)?(experiment|a/b)")
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or our the this to was we were will with "
    "not no but if then than so that these those they them their there what which who why how all any each "
    "per more most less very can could should would may might also after before over under up down out new "
    "date launch launched user users".split()
)


@dataclass(frozen=True, slots=True)
class Initiative:
    """One past-initiative document.

    name
        File name (or the name given with the text).
    title
        First heading, else the name.
    launch_dates
        Dates from ``Launch date: YYYY-MM-DD`` lines, in document order.
    words
        Lower-case words of the document (stop words removed).
    text
        The normalised text (lower case, single spaces) for phrase matching.
    is_experiment
        The title or the ``Status:`` line calls it an experiment or A/B test (and not "no experiment"):
        the experiment analysis covers it, so no before/after comparison is made for its launch date.
    """

    name: str
    title: str
    launch_dates: tuple[dt.date, ...]
    words: frozenset[str]
    text: str
    is_experiment: bool = False


def tokens(name: str) -> list[str]:
    """Word tokens of a name: ``add_to_cart`` -> ``add, to, cart``; ``addToCart`` -> ``add, to, cart``."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return _WORD.findall(spaced.lower())


def parse_initiative(text: str, name: str) -> Initiative:
    """Read one document."""
    title_match = _TITLE.search(text)
    title = title_match.group(1).strip() if title_match else Path(name).stem.replace("_", " ")
    dates = []
    for m in _LAUNCH.finditer(text):
        try:
            dates.append(dt.date.fromisoformat(m.group(1)))
        except ValueError as exc:
            raise InsightsError("bad_initiative", f"{name}: {m.group(1)!r} is not a valid launch date.") from exc
    words = frozenset(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1)
    norm = " ".join(_WORD.findall(text.lower()))
    status = " ".join(m.group(1).lower() for m in _STATUS.finditer(text))
    experiment = bool(_EXPERIMENT.search(title.lower())
                      or (_EXPERIMENT.search(status) and not _NOT_EXPERIMENT.search(status)))
    return Initiative(name, title, tuple(dates), words, f" {norm} ", experiment)


def load_initiatives(paths: Iterable[str | Path]) -> list[Initiative]:
    """Read documents from files or directories (``*.md``, ``*.markdown``, ``*.txt``), sorted by name."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in (".md", ".markdown", ".txt"))
        elif p.is_file():
            files.append(p)
        else:
            raise InsightsError("bad_initiative", f"There is no initiative document or folder at {p}.")
    out = []
    for f in files:
        try:
            out.append(parse_initiative(f.read_text(encoding="utf-8", errors="replace"), f.name))
        except OSError as exc:
            raise InsightsError("bad_initiative", f"Could not read {f}: {exc.strerror}.") from exc
    return out


def name_relevance(name: str, doc: Initiative) -> float:
    """0-1: how strongly ``doc`` talks about ``name`` (see module docstring)."""
    toks = tokens(name)
    if not toks:
        return 0.0
    if f" {' '.join(toks)} " in doc.text and any(t not in STOPWORDS for t in toks):
        return 1.0
    content = [t for t in toks if t not in STOPWORDS and len(t) > 1]
    if not content:
        return 0.0
    return sum(t in doc.words for t in content) / len(content)


def relevance(names: Sequence[str], docs: Sequence[Initiative], prefer: str = "") -> tuple[float, str | None]:
    """Best relevance of any of ``names`` to any document, and that document's title.

    A document whose title appears in ``prefer`` (the finding's subject, e.g. a launch) is tried first, so it
    wins ties.
    """
    best, title = 0.0, None
    for doc in sorted(docs, key=lambda d: not (prefer and d.title in prefer)):
        for n in names:
            r = name_relevance(n, doc)
            if r > best:
                best, title = r, doc.title
    return best, title


def launches(docs: Sequence[Initiative]) -> list[tuple[dt.date, Initiative]]:
    """Every (launch date, document) pair, in date order."""
    return sorted(((d, doc) for doc in docs for d in doc.launch_dates), key=lambda x: (x[0], x[1].name))
