"""Vega-Lite specs for the chart records of findings, written as plain dicts.

Plain dicts rather than a chart library: the specs are small and fixed, and building them costs nothing
on every page rerun (no schema validation), which keeps cached interactions fast.
"""

from __future__ import annotations

import math
from typing import Any

from insights.findings import ChartData, ChartRow

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
HIGHLIGHT, MUTED = "#d62728", "#8c8c8c"


def _num(value: float) -> float | None:
    """JSON-safe number: NaN and infinities become null (Vega-Lite skips them)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _values(rows: tuple[ChartRow, ...]) -> list[dict[str, Any]]:
    return [{"x": r.x, "y": _num(r.y), "low": _num(r.low), "high": _num(r.high), "group": r.group} for r in rows]


def vega_lite(chart: ChartData) -> dict[str, Any]:
    """A Vega-Lite dict for ``chart`` (bars with intervals, histogram per group, or series with a marker)."""
    values = _values(chart.rows)
    fmt = ".1%" if chart.percent else ",.3g"
    y = {"field": "y", "type": "quantitative", "title": chart.y_title, "axis": {"format": fmt}}
    x_nominal = {"field": "x", "type": "nominal", "title": chart.x_title, "sort": None}
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": chart.title, "height": 220, "data": {"values": values}}
    if chart.kind == "histogram":
        spec |= {"mark": {"type": "bar", "opacity": 0.6},
                 "encoding": {"x": x_nominal, "y": y, "color": {"field": "group", "type": "nominal", "title": None},
                              "xOffset": {"field": "group", "type": "nominal"}}}
        return spec
    if chart.kind == "series":
        line = {"mark": {"type": "line", "point": True},
                "encoding": {"x": {"field": "x", "type": "temporal", "title": chart.x_title}, "y": y}}
        if not chart.marker:
            return spec | line
        rule = {"data": {"values": [{"x": chart.marker}]}, "mark": {"type": "rule", "strokeDash": [4, 4]},
                "encoding": {"x": {"field": "x", "type": "temporal"}}}
        return spec | {"layer": [line, rule]}
    bars = {"mark": {"type": "bar"},
            "encoding": {"x": x_nominal, "y": y,
                         "color": {"condition": {"test": "datum.group === 'highlight'", "value": HIGHLIGHT},
                                   "value": MUTED}}}
    if not any(v["low"] is not None for v in values):
        return spec | bars
    errs = {"transform": [{"filter": "isValid(datum.low)"}], "mark": {"type": "errorbar"},
            "encoding": {"x": {"field": "x", "type": "nominal", "sort": None},
                         "y": {"field": "low", "type": "quantitative", "title": chart.y_title},
                         "y2": {"field": "high"}}}
    return spec | {"layer": [bars, errs]}
