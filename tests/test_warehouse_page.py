"""The sidebar's engine source: events in a real PostgreSQL server, configured by the environment, never the page.

The server is the throwaway cluster of ``tests/engine_servers.py`` holding the bundled sample. Expected
numbers come from DuckDB on the same file (``sample_ds``).
"""

from __future__ import annotations

import pytest

from pages.common import WAREHOUSE, load_warehouse
from tests.conftest import app_test
from tests.engine_servers import postgres_server as postgres_server  # noqa: F401 - the fixture


@pytest.fixture()
def configured(postgres_server, monkeypatch):
    monkeypatch.setenv("INSIGHTS_SOURCE", postgres_server.url)
    monkeypatch.setenv("INSIGHTS_TABLE", "public.shop_events")
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    monkeypatch.delenv("INSIGHTS_SQL", raising=False)
    load_warehouse.clear()
    yield postgres_server
    load_warehouse.clear()


def _texts(at) -> str:  # noqa: ANN001 - an AppTest
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "code", "text") for e in at.get(kind))


def test_the_warehouse_is_offered_only_when_configured(monkeypatch):
    monkeypatch.delenv("INSIGHTS_SOURCE", raising=False)
    at = app_test()
    at.run()
    assert WAREHOUSE not in at.sidebar.radio(key="source").options


def test_data_and_funnel_pages_run_on_postgres(configured, sample_ds):
    at = app_test()
    at.run()
    at.sidebar.radio(key="source").set_value(WAREHOUSE).run()
    assert not at.exception and not at.sidebar.error
    ds = at.session_state["dataset"]
    assert ds.dialect == "postgres" and "shop_events" in ds.source and configured.password not in ds.source
    assert not at.error, [e.value for e in at.error]
    cards = [s.value for s in at.subheader]
    assert len(cards) == 5, cards  # the Insights page: the pipeline ran on PostgreSQL
    assert at.selectbox(key="insights_dialect_postgres").value == "postgres"
    at.switch_page("pages/data.py").run()
    assert not at.exception
    rows = sample_ds.query(f"SELECT count(*) FROM {sample_ds.table_sql}")[0][0]
    assert f"{rows:,}" in _texts(at) + "\n".join(str(m.value) for m in at.metric)
    at.switch_page("pages/funnel.py").run()
    assert not at.exception and not at.error
    shown = [e for e in at.expander if e.label.startswith("SQL (")]
    assert [e.label for e in shown] == ["SQL (PostgreSQL)"]
    assert "ASOF" not in shown[0].code[0].value.upper()
    first = at.dataframe[0].value
    assert int(first["units"].iloc[0]) > 0


def test_an_unreachable_warehouse_is_one_line_and_the_sample_stays(monkeypatch):
    monkeypatch.setenv("INSIGHTS_SOURCE", "postgresql://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("INSIGHTS_TABLE", "events")
    load_warehouse.clear()
    at = app_test()
    at.run()
    at.sidebar.radio(key="source").set_value(WAREHOUSE).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "\n" not in errors[0] and "bundled sample is shown instead" in errors[0]
    assert at.session_state["dataset"].dialect == "duckdb"
    load_warehouse.clear()
