"""The Experiment page on the bundled sample through Streamlit's AppTest."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.conftest import app_test


def _experiment_page() -> AppTest:
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/experiment.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def test_experiment_page_shows_health_first_then_results_charts_and_plan() -> None:
    at = _experiment_page()
    assert at.selectbox(key="experiment_variant").value == "variant"
    assert at.selectbox(key="experiment_exposure").value == "experiment_exposure"
    assert [s.value for s in at.subheader][:2] == ["Health", "Results"]
    assert at.success or at.error  # the sample ratio verdict in words
    assert "sample ratio" in (at.success[0].value if at.success else at.error[0].value).lower()
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Units analysed"].replace(",", "")) > 1000
    assert metrics["In several variants"] != "0"  # the sample has units seen in both variants
    table = at.dataframe[0].value
    assert list(table.variant) == ["treatment"] and table.p_value.between(0, 1).all()
    assert 0 <= table.chance_to_win.iloc[0] <= 1
    specs = _chart_specs(at)
    assert len(specs) == 2 and all("rel_lift" in json.dumps(s) for s in specs)  # forest plot, cumulative lift
    assert "Units per group needed" in metrics


def test_experiment_page_segments_and_guardrails() -> None:
    at = _experiment_page()
    options = at.multiselect(key="experiment_guardrails").options
    guard = next(o for o in options if o.startswith("count:"))
    at.multiselect(key="experiment_guardrails").set_value([guard])
    at.selectbox(key="experiment_segment").set_value("device")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table.role) == {"primary", "guardrail"}
    segments = at.dataframe[1].value
    assert set(segments.segment) == {"desktop", "mobile", "tablet"}
