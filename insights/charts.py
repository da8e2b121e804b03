"""Vega-Lite specs (through Altair) for the chart records of findings."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from insights.findings import ChartData


def vega_lite(chart: ChartData) -> dict[str, Any]:
    """A Vega-Lite dict for ``chart`` (bars with intervals, histogram per group, or series with a marker)."""
    frame = pd.DataFrame([{"x": r.x, "y": r.y, "low": r.low, "high": r.high, "group": r.group} for r in chart.rows])
    fmt = ".1%" if chart.percent else ",.3g"
    y = alt.Y("y:Q", title=chart.y_title, axis=alt.Axis(format=fmt))
    if chart.kind == "histogram":
        base = alt.Chart(frame).mark_bar(opacity=0.6).encode(
            x=alt.X("x:N", title=chart.x_title, sort=None), y=y, color=alt.Color("group:N", title=None),
            xOffset="group:N")
    elif chart.kind == "series":
        line = alt.Chart(frame).mark_line(point=True).encode(x=alt.X("x:T", title=chart.x_title), y=y)
        rule = alt.Chart(pd.DataFrame({"x": [chart.marker]})).mark_rule(strokeDash=[4, 4]).encode(x="x:T")
        base = line + rule if chart.marker else line
    else:
        bars = alt.Chart(frame).mark_bar().encode(
            x=alt.X("x:N", title=chart.x_title, sort=None), y=y,
            color=alt.condition(alt.datum.group == "highlight", alt.value("#d62728"), alt.value("#8c8c8c")))
        errs = alt.Chart(frame.dropna(subset=["low"])).mark_errorbar().encode(
            x=alt.X("x:N", sort=None), y=alt.Y("low:Q", title=chart.y_title), y2="high:Q")
        base = bars + errs if frame["low"].notna().any() else bars
    return base.properties(title=chart.title, height=220).to_dict()
