"""Real browser: upload a CSV through the real file uploader and see its profile on the Data page."""

from __future__ import annotations

import pytest

from tests.browser_support import browser_page, running_app

pytestmark = pytest.mark.browser

CSV = "account,when,action,tier\n" + "".join(
    f"acct{i % 25},2026-05-{1 + i % 28:02d} 12:00:00,{('open', 'click', 'buy')[i % 3]},{('gold', 'free')[i % 2]}\n"
    for i in range(300))


def test_upload_csv_and_see_profile(tmp_path):
    path = tmp_path / "crm_export.csv"
    path.write_text(CSV)
    with running_app() as url, browser_page() as page:
        page.goto(f"{url}/data")
        page.get_by_text("Bundled sample").first.wait_for(timeout=60_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
        page.get_by_text("crm_export.csv · read as an event log").wait_for(timeout=60_000)
        units = page.get_by_test_id("stMetric").filter(has_text="Units")
        assert "25" in units.inner_text()
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "data_upload.png"), full_page=True)
