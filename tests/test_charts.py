"""Finding charts: the plain-dict Vega-Lite specs are valid against the Vega-Lite schema and render.

The schema is the one bundled with the altair package (a copy of the published Vega-Lite JSON schema); the
renderer is vl-convert (the Vega-Lite compiler and Vega's own SVG renderer), so both checks are external.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import altair
import jsonschema
import pytest
import vl_convert

from insights.charts import vega_lite
from insights.findings import ChartData, ChartRow

SCHEMA = json.loads((Path(altair.__file__).parent / "vegalite" / "v6" / "schema" / "vega-lite-schema.json").read_text())
NAN = math.nan

CHARTS = {
    "bars with intervals": ChartData("bars", "Conversion by device", "conversion", (
        ChartRow("mobile", 0.12, 0.11, 0.13, "highlight"), ChartRow("rest", 0.10, 0.095, 0.105, "rest")),
        x_title="device", percent=True),
    "bars without intervals": ChartData("bars", "Rows per day", "rows", (
        ChartRow("2026-01-01", 10.0, NAN, NAN, "highlight"), ChartRow("2026-01-02", 12.0, NAN, NAN, "rest"))),
    "histogram": ChartData("histogram", "Revenue", "share of units", (
        ChartRow("0-10", 0.5, NAN, NAN, "segment"), ChartRow("0-10", 0.4, NAN, NAN, "rest"),
        ChartRow("10-20", 0.5, NAN, NAN, "segment"), ChartRow("10-20", 0.6, NAN, NAN, "rest")), percent=True),
    "series with marker": ChartData("series", "Daily conversion", "conversion", (
        ChartRow("2026-01-01", 0.1, NAN, NAN, "daily"), ChartRow("2026-01-02", 0.2, NAN, NAN, "daily")),
        x_title="day", marker="2026-01-02", percent=True),
    "series without marker": ChartData("series", "Daily conversion", "conversion", (
        ChartRow("2026-01-01", 0.1, NAN, NAN, "daily"),)),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_spec_is_valid_vega_lite_and_renders(name):
    spec = vega_lite(CHARTS[name])
    jsonschema.validate(spec, SCHEMA)
    text = json.dumps(spec, allow_nan=False)  # NaN is not JSON: intervals that do not exist become null
    assert CHARTS[name].title in text
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.startswith("<svg") and CHARTS[name].title in svg


def test_bars_colour_the_subject_and_draw_its_interval():
    spec = vega_lite(CHARTS["bars with intervals"])
    bars, errs = spec["layer"]
    assert bars["encoding"]["color"]["condition"]["test"] == "datum.group === 'highlight'"
    assert errs["mark"]["type"] == "errorbar" and errs["encoding"]["y2"] == {"field": "high"}
    assert spec["data"]["values"][0] == {"x": "mobile", "y": 0.12, "low": 0.11, "high": 0.13, "group": "highlight"}
    assert "layer" not in vega_lite(CHARTS["bars without intervals"])
