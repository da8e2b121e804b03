"""Real browser: the HTML report opens offline in Chromium, loads nothing from outside and shows its charts."""

from __future__ import annotations

import pytest

from insights.report import report_html
from tests.browser_support import browser_page
from tests.test_report import FINDINGS, RESULT

pytestmark = pytest.mark.browser


def test_html_report_renders_offline_with_its_charts(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(report_html(RESULT, "shop.parquet"), encoding="utf-8")
    with browser_page() as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
        assert len(sizes) == 2 and all(done and w > 200 and h > 100 for done, w, h in sizes)
        assert page.locator("p.statement").all_inner_texts() == [f.statement for f in FINDINGS]
        assert page.locator("code.sql").first.inner_text() == FINDINGS[0].sql
        assert all(u.startswith(("file:", "data:")) for u in requested), requested
