"""The offline Ask path graded on held-out statements and questions about the bundled sample.

Expected answers are computed with pandas and scipy (tests/ask_expected.py), never with the SQL under
test. Each question is either answered exactly (same groups, same numbers, same p-value and verdict),
declined with an explanation, or answered wrongly; wrong answers must not happen at all, and at least 80% of
the questions (declines of unanswerable ones included) must be answered exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from insights.ask import AskResult, ask_offline
from tests.ask_expected import QUESTIONS, expected, load_sample

DATA = json.loads(QUESTIONS.read_text())["questions"]
REL = 1e-9


@pytest.fixture(scope="module")
def frame():
    return load_sample()


def _close(a: float | None, b: float | None, rel: float = REL) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-12)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _close(a, b)
    return a == b


def _key(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, (dt.date, dt.datetime)) else str(value)


def grade(result: AskResult, answer: dict[str, Any] | None) -> str:
    """``exact``, ``declined`` or ``wrong``."""
    if result.sql is None:
        if not result.message:
            return "wrong"
        return "exact" if answer is None else "declined"
    if answer is None:
        return "wrong"
    col = result.columns.index(result.value_column or result.columns[-1])
    if "value" in answer:
        ok = len(result.rows) == 1 and _close(result.rows[0][col], answer["value"])
        return "exact" if ok else "wrong"
    got = {_key(row[0]): row[col] for row in result.rows}
    if not _same(answer["values"], got):
        return "wrong"
    if "verdict" in answer:
        cmp = result.comparison
        if cmp is None or result.verdict != answer["verdict"] or not _close(result.p_value, answer["p_value"], 1e-6):
            return "wrong"
        subject, reference = answer["n"]
        if (cmp.n_variant, cmp.n_control) != (answer["n"][subject], answer["n"][reference]):
            return "wrong"
    return "exact"


def test_the_stored_answers_are_what_pandas_computes(frame):
    for q in DATA:
        fresh = expected(frame, q["spec"])
        assert _same(q["answer"], fresh) if fresh is not None else q["answer"] is None, q["text"]


def test_stored_answers_agree_with_the_numbers_in_the_sample_readme():
    # sample_data/README.md, planted effects 1-4 (measured there with DuckDB SQL, a third route).
    by_text = {q["text"]: q["answer"] for q in DATA}
    treat = by_text["treatment raises purchase conversion"]
    assert round(treat["values"]["control"], 4) == 0.1093 and round(treat["values"]["treatment"], 4) == 0.1227
    assert treat["n"] == {"treatment": 12669, "control": 12573} and round(treat["p_value"], 4) == 0.0008
    assert round(by_text["paid social users purchase less than other users"]["values"]["paid_social"], 4) == 0.0760
    assert round(by_text["German orders are bigger"]["values"]["DE"], 2) == 57.08
    tablet = by_text["tablet users go from add to cart to checkout less than desktop users"]
    assert tablet["n"]["tablet"] == 1525 and round(tablet["values"]["tablet"] * 1525) == 447
    mobile = by_text["mobile users in the treatment group purchase more than control"]["values"]
    assert round(mobile["control"], 4) == 0.1138 and round(mobile["treatment"], 4) == 0.1406


def test_offline_path_answers_at_least_80_percent_exactly_and_never_wrongly(sample_ds, capsys):
    grades: dict[str, list[str]] = {"exact": [], "declined": [], "wrong": []}
    for q in DATA:
        grades[grade(ask_offline(sample_ds, q["text"]), q["answer"])].append(q["text"])
    n = len(DATA)
    answerable = sum(q["answer"] is not None for q in DATA)
    exact_answerable = sum(1 for q in DATA if q["answer"] is not None and q["text"] in grades["exact"])
    with capsys.disabled():
        print(f"\nAsk offline accuracy: {len(grades['exact'])}/{n} = {len(grades['exact']) / n:.1%} exact "
              f"({exact_answerable}/{answerable} answerable questions answered exactly, "
              f"{len(grades['declined'])} declined, {len(grades['wrong'])} wrong)")
    assert not grades["wrong"], grades["wrong"]
    assert len(DATA) >= 30
    assert len(grades["exact"]) / n >= 0.8, grades["declined"]
