"""End to end in a real browser, as a new user meets the product: the app started with ``streamlit run``,
driven by headless Chromium through the sidebar navigation; each page is screenshotted into docs/screenshots/.

One app and one browser session serve the whole module (the sample's insights are computed once); the tests
run in file order and each starts by navigating from the sidebar, so none depends on another's page state.
Only the last test changes the session's data (upload, role override, broken upload)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from tests.browser_support import SCREENSHOTS, browser_page, running_app

pytestmark = pytest.mark.browser

SLOW = 120_000  # ms: the first computation of a page on the sample (the insights pipeline is the slowest)
QUICK = 30_000
CHART = "[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas"
EXPORT = "account,when,action,tier\n" + "".join(
    f"acct{i % 40},2026-05-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00,{('open', 'click', 'buy')[i % 3]},"
    f"{('gold', 'free')[(i % 40) % 2]}\n" for i in range(600))


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[str, object]]:
    with running_app() as url, browser_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page.goto(url)
        # Until app.py's navigation arrives, Streamlit lists the files in pages/ (lower-case names).
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights", exact=True).wait_for(timeout=SLOW)
        yield url, page


def go(page, title: str) -> None:  # noqa: ANN001 - a playwright Page
    """Open a page the way a user does: its link in the sidebar navigation; wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_test_id("stHeading").filter(has_text=title).first.wait_for(timeout=SLOW)


def idle(page) -> None:  # noqa: ANN001
    """Wait until no script run is in progress (a widget changed mid-run can be lost when the run ends)."""
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(state="attached", timeout=SLOW)


def main(page):  # noqa: ANN001, ANN201
    return page.get_by_test_id("stMain")


def shoot(page, name: str) -> None:  # noqa: ANN001
    """A full-page screenshot: Streamlit scrolls inside its main block, so grow the viewport to its height."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = main(page).evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 9000))})
    page.wait_for_timeout(300)  # let the charts take the new layout before the picture
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.set_viewport_size(size)


def no_exception(page) -> None:  # noqa: ANN001
    assert page.get_by_test_id("stException").count() == 0, page.get_by_test_id("stException").first.inner_text()


def widget(page, scope, testid: str, label: str):  # noqa: ANN001, ANN201
    """The widget of this kind whose label is exactly ``label``."""
    return scope.get_by_test_id(testid).filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))


def pick(page, select, option: str) -> None:  # noqa: ANN001
    """Choose an option in a Streamlit selectbox (open it again if a rerun closed the list)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    select.wait_for(timeout=QUICK)
    for _ in range(3):
        select.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"option {option!r} not offered")


def test_insights_page_shows_cards_and_copies_sql(app):
    url, page = app
    page.get_by_text("Why it ranked").nth(4).wait_for(timeout=SLOW)
    page.locator(CHART).nth(4).wait_for(timeout=QUICK)
    text = main(page).inner_text()
    for i in range(1, 6):
        assert re.search(rf"^{i}\. \w", text, re.M), f"card {i} missing"
    assert "adjusted p" in text and "Show more" in text
    no_exception(page)
    shoot(page, "insights.png")

    page.get_by_text("SQL that reproduces these numbers").first.click()
    code = page.get_by_test_id("stCode").first
    code.wait_for(timeout=QUICK)
    shown = code.locator("code").inner_text()
    assert shown.lstrip().upper().startswith(("WITH", "SELECT"))
    code.hover()
    code.get_by_role("button", name="Copy to clipboard").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == shown.strip()


def test_report_download_is_html_with_the_statements(app, tmp_path):
    url, page = app
    go(page, "Insights")
    page.get_by_text("Why it ranked").nth(4).wait_for(timeout=SLOW)
    with page.expect_download(timeout=QUICK) as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download report (HTML)").click()
    download = info.value
    assert download.suggested_filename == "insights_report.html"
    path = tmp_path / "report.html"
    download.save_as(path)
    report = path.read_text(encoding="utf-8")
    assert report.lstrip().lower().startswith(("<!doctype html", "<html"))
    statements = [html.unescape(re.sub(r"<[^>]+>", "", s))
                  for s in re.findall(r'<p class="statement">(.*?)</p>', report, re.S)]
    assert len(statements) == 5
    words = lambda text: " ".join(re.findall(r"\w+", text))  # noqa: E731 - markdown may turn "->" into an arrow
    shown = words(main(page).inner_text())
    for s in statements:
        assert words(s) in shown


def test_data_page(app):
    url, page = app
    go(page, "Data")
    page.get_by_text("shop_events.parquet · read as an event log").wait_for(timeout=SLOW)
    assert "50,000" in page.get_by_test_id("stMetric").filter(has_text="Units").inner_text()
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=QUICK)
    no_exception(page)
    shoot(page, "data.png")


def test_experiment_page_shows_health_and_results(app):
    url, page = app
    go(page, "Experiment")
    page.get_by_test_id("stHeading").filter(has_text="Results").wait_for(timeout=SLOW)
    health = main(page).get_by_test_id("stAlert").first.inner_text()
    assert "sample ratio mismatch" in health.lower() or "split across groups as planned" in health.lower()
    main(page).get_by_text(re.compile(r"control: [\d,]+ · treatment: [\d,]+ · control: control")).wait_for(
        timeout=QUICK)
    page.get_by_test_id("stDataFrame").filter(has=page.locator("canvas, table")).first.wait_for(timeout=QUICK)
    page.locator(CHART).first.wait_for(timeout=QUICK)
    no_exception(page)
    shoot(page, "experiment.png")


def _funnel_units(page) -> list[str]:  # noqa: ANN001
    """The per-step bars' accessible labels ('step: 1. x; units: N; ...') of the funnel chart."""
    chart = page.get_by_test_id("stVegaLiteChart").first
    return chart.locator("[aria-label^='step: ']").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")


def wait_funnel(page, old: list[str], needle: str = "") -> None:  # noqa: ANN001
    """Wait until the funnel chart's bar labels differ from ``old`` (and contain ``needle``)."""
    page.wait_for_function("""([old, needle]) => {
        const now = [...document.querySelectorAll("[data-testid=stVegaLiteChart] [aria-label^='step: ']")]
            .map(e => e.getAttribute('aria-label')).join('|');
        return now !== '' && now !== old.join('|') && now.includes(needle);
    }""", arg=[old, needle], timeout=SLOW)


def _funnel_steps(page) -> list[str]:  # noqa: ANN001
    return [label.split(";")[0].split(". ", 1)[1] for label in _funnel_units(page)]


def test_funnel_page_builds_a_funnel(app):
    url, page = app
    go(page, "Funnel")
    steps = widget(page, main(page), "stMultiSelect", "Steps (2 to 10, in order)")
    steps.wait_for(timeout=SLOW)
    for tag in steps.get_by_role("button", name=re.compile("^Remove ")).all()[::-1]:
        tag.click()
    page.get_by_text("Pick at least two steps.").wait_for(timeout=QUICK)
    for event in ("session_start", "view_item", "add_to_cart", "purchase"):
        steps.locator("input").first.click()
        steps.locator("input").first.fill(event)
        page.get_by_role("option", name=event, exact=True).click()
    page.keyboard.press("Escape")
    wait_funnel(page, [], "4. purchase")
    week = _funnel_units(page)
    assert [label.split(";")[0] for label in week] == [
        "step: 1. session_start", "step: 2. view_item", "step: 3. add_to_cart", "step: 4. purchase"]

    window = widget(page, main(page), "stNumberInput", "Window").locator("input")
    window.fill("1")
    window.press("Enter")
    pick(page, widget(page, main(page), "stSelectbox", "Unit"), "minutes")
    wait_funnel(page, week)
    hour = _funnel_units(page)
    assert len(hour) == 4 and hour != week
    last = [int(re.search(r"units: (\d+)", label).group(1)) for label in (week[-1], hour[-1])]
    assert last[1] <= last[0]  # a shorter window never lets more units through
    page.get_by_text("SQL (DuckDB)").wait_for(timeout=QUICK)
    no_exception(page)
    shoot(page, "funnel.png")


def test_ask_page_answers_with_sql_and_result(app):
    url, page = app
    go(page, "Ask")
    box = widget(page, main(page), "stTextInput", "Statement or question").locator("input")
    box.fill("mobile users convert to purchase less than desktop users")
    box.press("Enter")
    code = main(page).get_by_test_id("stCode").first
    code.wait_for(timeout=SLOW)
    assert "SELECT" in code.inner_text().upper()
    main(page).get_by_text("The data:").first.wait_for(timeout=QUICK)
    main(page).get_by_test_id("stDataFrame").first.wait_for(timeout=QUICK)
    no_exception(page)
    shoot(page, "ask.png")


def test_upload_override_role_then_broken_upload_keeps_data(app, tmp_path):
    url, page = app
    export = tmp_path / "crm_export.csv"
    export.write_text(EXPORT)
    go(page, "Data")
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(export))
    page.get_by_text("crm_export.csv · read as an event log").wait_for(timeout=SLOW)
    assert "40" in page.get_by_test_id("stMetric").filter(has_text="Units").inner_text()

    go(page, "Experiment")  # no column looks like an experiment arm: the page asks for one
    main(page).get_by_text("No column looks like the experiment's variant").wait_for(timeout=SLOW)

    # The pricing test assigned tiers at random: the user marks tier as the variant; every page follows.
    sidebar.get_by_test_id("stExpander").filter(has_text="Column roles").locator("summary").click()
    pick(page, widget(page, sidebar, "stSelectbox", "Variant"), "tier")
    main(page).get_by_text(re.compile(r"gold: 20 · free: 20|free: 20 · gold: 20")).wait_for(timeout=SLOW)
    no_exception(page)
    go(page, "Data")
    page.get_by_text("crm_export.csv · read as an event log").wait_for(timeout=QUICK)
    shoot(page, "upload_override.png")

    broken = tmp_path / "broken.csv"
    broken.write_bytes(bytes(range(256)) * 20)
    idle(page)
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(broken))
    error = sidebar.get_by_test_id("stAlert").filter(has_text="broken.csv")
    error.wait_for(timeout=SLOW)
    message = error.inner_text()
    assert len(message.strip().splitlines()) == 1 and "Traceback" not in message
    page.get_by_text("crm_export.csv · read as an event log").wait_for(timeout=QUICK)
    assert "40" in page.get_by_test_id("stMetric").filter(has_text="Units").inner_text()
    go(page, "Funnel")  # the previous upload still drives the other pages
    page.locator(CHART).first.wait_for(timeout=SLOW)
    assert {"open", "buy"} <= set(_funnel_steps(page))
    go(page, "Data")
    page.get_by_text("crm_export.csv · read as an event log").wait_for(timeout=QUICK)
    no_exception(page)
    shoot(page, "bad_upload.png")
