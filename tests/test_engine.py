"""The engine interface on DuckDB itself: the generic path (parameters inlined as literals, SQL run through an
``Engine``, intermediate results made by ``create_temp``) returns what the fast path (bound parameters on cursors)
returns. Expected values: the fast path on the same connection."""

from __future__ import annotations

import dataclasses
import decimal

from insights import FunnelSpec, analyze_funnel, find_insights, profile, segment_tests
from insights.engine import DuckDBEngine, TempRelation, plain
from tests.conftest import ROOT
from tests.engine_servers import assert_same


def test_generic_engine_path_on_duckdb_equals_the_fast_path(sample_ds):
    ds = dataclasses.replace(sample_ds, engine=DuckDBEngine(sample_ds.con))
    assert ds.dialect == "duckdb"
    assert_same(profile(ds), profile(sample_ds))
    by_key = lambda found: sorted(found[1], key=lambda f: f.key)  # noqa: E731 - p-value ties may swap places
    assert_same(by_key(segment_tests(ds, "purchase")), by_key(segment_tests(sample_ds, "purchase")))
    spec = FunnelSpec(("session_start", "add_to_cart", "purchase"), by="device")
    assert_same(analyze_funnel(ds, spec), analyze_funnel(sample_ds, spec))
    docs = ROOT / "sample_data" / "initiatives"
    assert_same(find_insights(ds, "purchase", docs=docs), find_insights(sample_ds, "purchase", docs=docs))


def test_temp_relation_is_dropped_on_close(sample_ds):
    ds = dataclasses.replace(sample_ds, engine=DuckDBEngine(sample_ds.con))
    with TempRelation(ds, f"SELECT count(*) AS n FROM {ds.table_sql} WHERE event = $e", {"e": "purchase"}) as rel:
        assert rel.query(f"SELECT n FROM {rel.name}") == [(6282,)]
        name = rel.name
    assert not sample_ds.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                     [name.strip('"')]).fetchone()[0]


def test_driver_decimals_become_int_or_float():
    assert plain(decimal.Decimal("12")) == 12 and type(plain(decimal.Decimal("12"))) is int
    assert plain(decimal.Decimal("1.25")) == 1.25 and type(plain(decimal.Decimal("1.25"))) is float
    assert plain([decimal.Decimal("2"), None]) == [2, None]


def test_configured_source_reads_the_environment_first_then_the_secrets(tmp_path, monkeypatch):
    from insights.warehouse import configured_source

    secrets = tmp_path / "secrets.toml"
    for name in ("INSIGHTS_SOURCE", "INSIGHTS_TABLE", "INSIGHTS_SQL"):
        monkeypatch.delenv(name, raising=False)
    assert configured_source(secrets) is None  # no file
    secrets.write_text('[warehouse]\nsource = "spark"\ntable = "events"\n[postgres]\npassword = "x"\n')
    assert configured_source(secrets) == ("spark", "events", None)
    monkeypatch.setenv("INSIGHTS_SOURCE", "postgresql://me@127.0.0.1/db")
    monkeypatch.setenv("INSIGHTS_SQL", "SELECT * FROM t")
    assert configured_source(secrets) == ("postgresql://me@127.0.0.1/db", None, "SELECT * FROM t")
    monkeypatch.delenv("INSIGHTS_SOURCE")
    secrets.write_text("[warehouse\nsource = ")
    assert configured_source(secrets) is None  # unreadable secrets: no warehouse source, no traceback
