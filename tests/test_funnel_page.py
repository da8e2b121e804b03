"""The Funnel page on the bundled sample: build a funnel, change the window, break it down."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def table(at: AppTest, column: str):
    """The rendered table that has ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_funnel_page_builds_changes_window_and_breaks_down():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(str(ROOT / "pages" / "funnel.py"))
    at.run()
    assert not at.exception and not at.error
    steps = next(m for m in at.multiselect if m.key.startswith("funnel_steps"))
    assert len(steps.value) >= 2  # the suggested most common path
    steps.set_value(["session_start", "view_item", "add_to_cart", "purchase"]).run()
    first = table(at, "from previous")
    assert first["units"].is_monotonic_decreasing or first["units"].tolist() == sorted(first["units"], reverse=True)
    at.number_input(key="funnel_window").set_value(1).run()
    at.selectbox(key="funnel_window_unit").set_value("hours").run()
    narrow = table(at, "from previous")
    assert narrow["units"].iloc[0] == first["units"].iloc[0]
    assert narrow["units"].iloc[-1] <= first["units"].iloc[-1]
    at.selectbox(key="funnel_by").set_value("device").run()
    assert not at.exception and not at.error
    seg = table(at, "segment")
    assert {"desktop", "mobile", "tablet"} <= set(seg["segment"]) and "adjusted p" in seg.columns
