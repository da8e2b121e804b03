"""Shared fixtures: the bundled sample, small datasets built from frames, the shared/ data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so a CI result can be reproduced exactly; set
# HYPOTHESIS_PROFILE=explore to draw new examples when hunting for bugs.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "shop_events.parquet"
SHARED_DATA = Path(os.environ.get("INSIGHTS_SHARED_DATA", ROOT.parent / "shared" / "data"))

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip with the reason when a fresh clone does not have it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is not present (it ships beside the repository, not in it)")
    return path


@pytest.fixture(scope="session")
def sample_ds():
    """The bundled sample loaded once for the whole run."""
    from insights import load_file

    return load_file(SAMPLE)


@pytest.fixture
def make_dataset(tmp_path):
    """Build a Dataset from a pandas DataFrame (written to Parquet, read back by the real loader)."""
    from insights import load_file

    counter = {"n": 0}

    def make(frame: pd.DataFrame, fmt: str = "parquet", **overrides):
        counter["n"] += 1
        path = tmp_path / f"data{counter['n']}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        ds = load_file(path)
        return ds.with_roles(**overrides) if overrides else ds

    return make


@pytest.fixture(autouse=True)
def _apptest_uses_navigation(monkeypatch):
    """AppTest resets Streamlit's legacy ``pages/`` flag before every run and then re-detects the folder,
    so from the second run on it would execute the current page alone (no app.py, no sidebar). The real
    server clears the flag when ``st.navigation`` is called; do the same here so AppTest runs app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def app_test():
    """AppTest of app.py with a timeout generous enough for a cold first run."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)


def pytest_collection_modifyitems(items):
    """A real browser against a real server can lose a click while a page is still rerunning: browser tests
    get one retry (reported by pytest-rerunfailures), nothing else does."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.flaky(reruns=1))
