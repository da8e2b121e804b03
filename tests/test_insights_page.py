"""The Insights page is the default page and shows the top five cards on the bundled sample."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_insights_page_is_default_and_shows_five_cards_with_sql():
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Insights"
    statements = [m.value for m in at.markdown if m.value.startswith(("Users", "After", "Treatment", "The step"))]
    assert len(statements) == 5
    assert any("paid_social" in s for s in statements) and any("tablet" in s for s in statements)
    assert len(at.code) == 5
    assert "SELECT" in at.code[0].value


def test_dialect_selector_transpiles_the_sql():
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.selectbox(key="insights_dialect_duckdb").set_value("bigquery").run()
    assert not at.exception
    assert all("`" in c.value and "\"" not in c.value for c in at.code)  # BigQuery quotes with backticks
