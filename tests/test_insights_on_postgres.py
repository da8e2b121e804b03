"""The top-5 insights pipeline on a real PostgreSQL server gives DuckDB's findings.

The server is the throwaway cluster of ``tests/engine_servers.py`` holding the whole bundled sample; the
expected findings come from DuckDB on the same file (``sample_ds``): the same keys in the same order, the
same counts, and effects and p-values equal to 1e-9 relative.
"""

from __future__ import annotations

import math

import pytest

from insights import find_insights
from insights.engines_pg import PostgresEngine
from insights.warehouse import open_engine_source
from tests.conftest import ROOT
from tests.engine_servers import postgres_server as postgres_server  # noqa: F401 - the fixture

DOCS = ROOT / "sample_data" / "initiatives"


@pytest.fixture(scope="module")
def pg_ds(postgres_server):
    engine = PostgresEngine(postgres_server.url, {"password": postgres_server.password})
    yield open_engine_source(postgres_server.url, table="public.shop_events", engine=engine)
    engine.close()


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_find_insights_on_postgres_equals_duckdb(pg_ds, sample_ds):
    want = find_insights(sample_ds, "purchase", docs=DOCS)
    got = find_insights(pg_ds, "purchase", docs=DOCS)
    assert got.tests_run == want.tests_run and got.n_eligible == want.n_eligible
    assert [f.key for f in got.all_findings] == [f.key for f in want.all_findings]
    for g, w in zip(got.all_findings, want.all_findings, strict=True):
        assert g.n_units == w.n_units and g.n_baseline == w.n_baseline, g.key
        for name in ("subject_mean", "baseline_mean", "effect", "p_value", "p_value_adjusted"):
            assert _close(getattr(g, name), getattr(w, name)), (g.key, name, getattr(g, name), getattr(w, name))
    assert [f.statement for f in got.insights] == [f.statement for f in want.insights]


def test_each_finding_sql_runs_on_a_fresh_postgres_connection_and_reproduces_it(pg_ds, postgres_server):
    """The SQL shown for an engine is in its dialect and self-contained: a new session (no temporary view)
    runs it as it is and gets the finding's numbers."""
    import psycopg

    result = find_insights(pg_ds, "purchase", docs=DOCS)
    assert result.dialect == "postgres"
    checked = 0
    with psycopg.connect(postgres_server.url, password=postgres_server.password) as conn:
        for f in result.all_findings[: result.n_eligible]:
            sql = result.sql_of(f)
            assert f"{pg_ds.table} AS (" in sql and "public.shop_events" in sql and "$" not in sql, f.key
            cur = conn.execute(sql)
            got = dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True))
            for name in ("n_units", "n_baseline", "subject_mean", "baseline_mean", "effect"):
                if name in got and got[name] is not None and not math.isnan(getattr(f, name)):
                    assert float(got[name]) == pytest.approx(getattr(f, name), rel=1e-9, abs=1e-12), (f.key, name)
                    checked += 1
    assert checked >= 5 * result.n_eligible - 10
