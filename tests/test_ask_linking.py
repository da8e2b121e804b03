"""Linking words to schema names and values, and recognising the shape, on small frame-built datasets."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from insights.ask import ask_offline
from insights.ask_linking import build_lexicon, link, stem
from insights.ask_shapes import REST, NotUnderstood, plan_question


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from insights import load_file

    rows = []
    for i in range(30):
        user, device = f"u{i:02d}", ("mobile", "desktop", "tablet")[i % 3]
        country, variant = ("DE", "US", "IN")[i % 3], ("control", "treatment")[i % 2]
        base = pd.Timestamp("2026-03-01") + pd.Timedelta(days=i % 10)
        for j, event in enumerate(("session_start", "view_item", "add_to_cart", "begin_checkout", "purchase")):
            if j <= i % 5:
                rows.append((user, base + pd.Timedelta(minutes=j), event, 20.0 + i if event == "purchase" else None,
                             device, country, variant, "paid_social" if i % 4 == 0 else "organic"))
    frame = pd.DataFrame(rows, columns=["user_id", "event_time", "event", "revenue", "device", "country",
                                        "variant", "channel"])
    path = tmp_path_factory.mktemp("tiny") / "tiny.parquet"
    frame.to_parquet(path, index=False)
    return load_file(path), frame


def _plan(ds, text):
    lex = build_lexicon(ds)
    return plan_question(link(text, lex), lex, ds.roles.variant)


def test_stem_folds_inflections():
    assert {stem(w) for w in ("purchase", "purchases", "purchased", "purchasing")} == {"purchas"}
    assert stem("countries") == "country" and stem("searched") == "search"


@pytest.mark.parametrize(("text", "events"), [
    ("users who added items to cart", ["add_to_cart"]),
    ("add to cart", ["add_to_cart"]),
    ("people who bought", ["purchase"]),
    ("reached checkout", ["begin_checkout"]),
    ("viewed items then purchased", ["view_item", "purchase"]),
    ("sessions", ["session_start"]),
])
def test_event_words_link_to_event_names(tiny, text, events):
    ds, _ = tiny
    assert link(text, build_lexicon(ds)).event_names() == events


def test_values_link_to_their_columns_and_short_codes_need_their_case(tiny):
    ds, _ = tiny
    lex = build_lexicon(ds)
    links = link("mobile users in Germany from paid social", lex)
    assert [(v.column, v.value) for v in links.values] == [("device", "mobile"), ("country", "DE"),
                                                          ("channel", "paid_social")]
    # "in" and "us" are English words here, not India and the United States
    assert link("show us purchases in total", lex).values == []
    assert [(v.column, v.value) for v in link("US users", lex).values] == [("country", "US")]


def test_last_week_is_relative_to_the_latest_event(tiny):
    ds, frame = tiny
    links = link("purchases last week", build_lexicon(ds))
    latest = frame.event_time.max().normalize()
    assert links.time_range is not None
    assert links.time_range.end == latest + dt.timedelta(days=1)
    assert links.time_range.start == latest - dt.timedelta(days=6)


def test_unknown_words_are_reported_not_guessed(tiny):
    ds, _ = tiny
    assert link("average basket churn by device", build_lexicon(ds)).unknown == ["churn"]
    with pytest.raises(NotUnderstood, match="churn"):
        _plan(ds, "average basket churn by device")


@pytest.mark.parametrize(("text", "shape", "measure"), [
    ("purchase conversion by device", "breakdown", "rate"),
    ("mobile users convert less than desktop users", "compare", "rate"),
    ("daily purchases", "over_time", "events"),
    ("how many users purchased", "scalar", "units"),
    ("funnel from view item to purchase", "funnel", "funnel"),
    ("average order value by country", "breakdown", "row_mean"),
    ("revenue per user", "scalar", "per_unit_sum"),
    ("purchases per user by device", "breakdown", "per_unit_count"),
    ("total revenue by week", "over_time", "total"),
])
def test_shapes_and_measures(tiny, text, shape, measure):
    ds, _ = tiny
    plan = _plan(ds, text)
    assert (plan.shape, plan.measure) == (shape, measure)


def test_comparison_direction_groups_and_rest(tiny):
    ds, _ = tiny
    plan = _plan(ds, "paid social users purchase less than other users")
    assert plan.groups == ("paid_social", REST) and plan.direction == "less" and plan.dimension == "channel"
    plan = _plan(ds, "treatment increases purchase conversion")
    assert plan.groups == ("treatment", "control") and plan.direction == "more"


@pytest.mark.parametrize("text", ["what is the weather", "mobile users do not purchase less than desktop users",
                                  "purchase conversion by device and country", ""])
def test_questions_it_cannot_map_get_an_explanation(tiny, text):
    ds, _ = tiny
    result = ask_offline(ds, text)
    assert result.sql is None and result.rows == [] and result.message


def test_shown_sql_reproduces_the_numbers(tiny):
    ds, frame = tiny
    result = ask_offline(ds, "purchase conversion by device")
    assert ds.query(result.sql) == result.rows
    users = frame.groupby("user_id").agg(device=("device", "first"),
                                         bought=("event", lambda e: float((e == "purchase").any())))
    expected = users.groupby("device").bought.mean().to_dict()
    got = {row[0]: row[-1] for row in result.rows}
    assert got == pytest.approx(expected)


def test_hostile_values_in_the_question_are_bound_not_spliced(tiny):
    ds, _ = tiny
    result = ask_offline(ds, "purchases by device'; DROP TABLE events; --")
    assert result.sql is None or "DROP" not in result.sql
    assert ds.query("SELECT count(*) FROM events")[0][0] > 0
