"""Five browser sessions on five different uploads at once: none sees another's data. The server's memory
before, during and after is printed for bench/README.md; that a session's data is freed once the session
is gone is asserted in-process by tests/test_memory_release.py (RSS of a whole server also moves with the
page a new visitor opens, so it is recorded, not asserted)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, CHROMIUM_FLAGS, running_app

pytestmark = pytest.mark.browser
N_SESSIONS = 5
ROWS = 100_000


def _write_upload(folder: Path, k: int) -> Path:
    path = folder / f"team{k}_export.csv"
    n_units = 1000 + 111 * k  # a different unit count per session, visible on the Data page
    with open(path, "w") as fh:
        fh.write("member_id,logged_at,action,region\n")
        for i in range(ROWS):
            fh.write(f"m{k}_{i % n_units},2026-04-{1 + i % 28:02d} 09:{i % 60:02d}:00,act{i % 5},r{k}\n")
    return path


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _server_pid(port: int) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "streamlit" in cmd and f"--server.port {port}" in cmd:
                return int(proc.name)
    raise RuntimeError("server process not found")


def test_five_concurrent_sessions_see_only_their_own_upload(tmp_path):
    from playwright.sync_api import sync_playwright

    uploads = [_write_upload(tmp_path, k) for k in range(N_SESSIONS)]
    with running_app(extra_args=["--server.disconnectedSessionTTL", "1"]) as url, sync_playwright() as pw:
        pid = _server_pid(int(url.rsplit(":", 1)[1]))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        warm = browser.new_context().new_page()  # the very first visit of a fresh server builds the navigation
        warm.goto(url)
        warm.get_by_text("Bundled sample").first.wait_for(timeout=90_000)
        warm.context.close()
        contexts, pages = [], []
        for _ in range(N_SESSIONS):
            ctx = browser.new_context(viewport={"width": 1300, "height": 900})
            page = ctx.new_page()
            page.goto(url)
            contexts.append(ctx)
            pages.append(page)
        for page in pages:
            page.get_by_text("Bundled sample").first.wait_for(timeout=90_000)
            page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
            page.get_by_text("shop_events.parquet · read as an event log").wait_for(timeout=90_000)
        before = _rss_mb(pid)
        for page, path in zip(pages, uploads, strict=True):
            for _attempt in range(3):  # the uploader can be re-rendered under the cursor; retry until it shows the file
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
                try:
                    page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").get_by_text(path.name).wait_for(timeout=20_000)
                    break
                except Exception:
                    continue
        for k, page in enumerate(pages):
            try:
                page.get_by_text(f"team{k}_export.csv · read as an event log").wait_for(timeout=240_000)
            except Exception:
                page.screenshot(path=str(tmp_path / f"session{k}.png"), full_page=True)
                raise
        peak = _rss_mb(pid)
        for k, page in enumerate(pages):
            body = page.locator("body").inner_text()
            assert f"{1000 + 111 * k:,}" in body
            for other in range(N_SESSIONS):
                if other != k:
                    assert f"team{other}_export" not in body
        for ctx in contexts:
            ctx.close()
        browser.close()
        time.sleep(5)
        after = _rss_mb(pid)
        print(f"server RSS: {before:.0f} MB with {N_SESSIONS} idle sessions, {peak:.0f} MB with {N_SESSIONS} "
              f"uploads of {ROWS:,} rows loaded, {after:.0f} MB after the sessions ended")
        assert peak > before
