"""The Ask page through Streamlit's AppTest on the bundled sample: a statement with its verdict, and the
own-SQL box refusing a hostile query with its reason."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import app_test


def _ask_page() -> AppTest:
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/ask.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_ask_page_answers_a_statement_with_sql_chart_and_verdict():
    at = _ask_page()
    at.text_input(key="ask_text_").set_value("paid social users purchase less than other users").run()
    assert not at.exception, at.exception
    assert any("supported" in s.value for s in at.success)
    assert any("two-proportion z-test" in c.value for c in at.caption)
    sql = [c.value for c in at.code]
    assert sql and "paid_social" in sql[0] and sql[0].lstrip().upper().startswith("WITH")
    table = at.dataframe[0].value
    assert set(table["channel"]) == {"paid_social", "(others)"}
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_ask_page_explains_a_question_it_cannot_map():
    at = _ask_page()
    at.text_input(key="ask_text_").set_value("what is the NPS by country?").run()
    assert not at.exception, at.exception
    assert any("NPS" in e.value for e in at.error)
    assert not at.code


def test_ask_page_refuses_hostile_user_sql_with_the_reason():
    at = _ask_page()
    at.text_area(key="ask_user_sql").set_value("SELECT 1; DROP TABLE events").run()
    at.button(key="ask_run_sql").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("Refused: Only one SELECT statement is allowed") for e in errors), errors
    at.text_area(key="ask_user_sql").set_value("SELECT count(*) AS n FROM events").run()
    at.button(key="ask_run_sql").click().run()
    assert at.dataframe[-1].value["n"].iloc[0] > 0
