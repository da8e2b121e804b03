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
