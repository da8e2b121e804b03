"""Funnel page: steps, window and order mode -> units per step, time to convert, trend, breakdown, variants."""

import pandas as pd
import streamlit as st

from insights import (
    Dataset,
    FunnelResult,
    FunnelSpec,
    InsightsError,
    analyze_funnel,
    dropoff_cohort,
    suggest_steps,
)
from pages.common import DIALECT_NAMES, NONE, current_dataset, events_of, show_error

UNITS = {"minutes": 60, "hours": 3600, "days": 86_400}


@st.cache_data(show_spinner="Computing the funnel...", max_entries=32)
def cached_funnel(_ds: Dataset, key: str, spec: FunnelSpec) -> FunnelResult:
    return analyze_funnel(_ds, spec)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_suggestion(_ds: Dataset, key: str) -> tuple[str, ...]:
    return suggest_steps(_ds)


def cohort_csv(ds: Dataset, spec: FunnelSpec, step: int) -> bytes:
    """The drop-off cohort as CSV; called only when the download is clicked."""
    return dropoff_cohort(ds, spec, step).to_csv(index=False).encode()


st.title("Funnel")
ds = current_dataset()
if ds is None:
    st.stop()
try:
    events = events_of(ds, ds.cache_key)
    suggestion = [s for s in cached_suggestion(ds, ds.cache_key) if s in events]
except InsightsError as exc:
    show_error(exc)
    st.stop()
steps = st.multiselect("Steps (2 to 10, in order)", events, default=suggestion, max_selections=10,
                       key=f"funnel_steps_{ds.key}")
c1, c2, c3, c4 = st.columns(4)
amount = c1.number_input("Window", min_value=1, value=7, step=1, key="funnel_window")
unit = c2.selectbox("Unit", list(UNITS), index=2, key="funnel_window_unit")
mode = c3.selectbox("Order", ["sequential", "strict", "any"], key="funnel_mode",
                    help="sequential: other events allowed between steps; strict: none; any: any order")
by = c4.selectbox("Break down by", [NONE, *ds.roles.dimensions], key="funnel_by")
if len(steps) < 2:
    st.info("Pick at least two steps.")
    st.stop()
spec = FunnelSpec(tuple(steps), float(amount) * UNITS[unit], mode, None if by == NONE else by)
try:
    r = cached_funnel(ds, ds.cache_key, spec)
except InsightsError as exc:
    show_error(exc)
    st.stop()

table = pd.DataFrame([{"step": f"{s.step}. {s.event}", "units": s.n_units, "from start": s.conversion_from_start,
                       "from previous": s.conversion_from_previous, "drop-off": s.drop_off,
                       "median time (s)": s.median_seconds_from_previous, "p90 time (s)": s.p90_seconds_from_previous}
                      for s in r.steps])
st.vega_lite_chart(table, {"mark": "bar", "encoding": {
    "x": {"field": "step", "type": "nominal", "sort": None}, "y": {"field": "units", "type": "quantitative"},
    "tooltip": [{"field": c, "type": "nominal" if c == "step" else "quantitative"} for c in table.columns]}},
    width="stretch")
pct = st.column_config.NumberColumn(format="percent")
st.dataframe(table, hide_index=True, column_config={"from start": pct, "from previous": pct}, key="funnel_table")

left, right = st.columns(2)
if r.histogram:
    hist = pd.DataFrame([{"step": f"{b.step}. {r.steps[b.step - 1].event}", "from (s)": b.bin_start_seconds,
                          "units": b.n_units} for b in r.histogram])
    left.subheader("Time to convert from the previous step")
    left.vega_lite_chart(hist, {"mark": "bar", "encoding": {
        "x": {"field": "from (s)", "type": "ordinal"}, "y": {"field": "units", "type": "quantitative"},
        "color": {"field": "step", "type": "nominal"}}}, width="stretch")
trend = pd.DataFrame([{"period": p.period, "entered": p.n_units[0], "conversion": p.conversion} for p in r.trend])
right.subheader(f"Conversion by entry {r.trend_grain}")
right.vega_lite_chart(trend, {"mark": {"type": "line", "point": True}, "encoding": {
    "x": {"field": "period", "type": "temporal"},
    "y": {"field": "conversion", "type": "quantitative", "axis": {"format": "%"}},
    "tooltip": [{"field": "period", "type": "temporal"}, {"field": "entered", "type": "quantitative"}]}},
    width="stretch")

if r.breakdown:
    st.subheader(f"By {spec.by} (segment vs the rest, BH-adjusted)")
    seg = pd.DataFrame([{"segment": g.segment, "step": f"{s.step}. {s.event}", "units": s.n_units,
                         "from start": s.conversion_from_start, "vs rest": s.abs_diff, "p": s.p_value,
                         "adjusted p": s.p_value_adjusted, "note": g.reason or ""}
                        for g in r.breakdown for s in g.steps])
    st.vega_lite_chart(seg, {"mark": "bar", "encoding": {
        "x": {"field": "step", "type": "nominal", "sort": None}, "xOffset": {"field": "segment", "type": "nominal"},
        "y": {"field": "from start", "type": "quantitative", "axis": {"format": "%"}},
        "color": {"field": "segment", "type": "nominal"}}}, width="stretch")
    st.dataframe(seg, hide_index=True, column_config={"from start": pct, "vs rest": pct}, key="funnel_breakdown")
if r.variants:
    st.subheader(f"Variants against {r.control}")
    st.dataframe(pd.DataFrame([{"step": f"{v.step}. {v.event}", "variant": v.variant, "control": v.control_rate,
                                "variant rate": v.variant_rate, "difference": v.abs_diff, "ci low": v.ci_low,
                                "ci high": v.ci_high, "p": v.p_value, "adjusted p": v.p_value_adjusted}
                               for v in r.variants]), hide_index=True, key="funnel_variants")

k = st.selectbox("Drop-off cohort: units that reached step", list(range(1, len(steps))),
                 format_func=lambda i: f"{i}. {steps[i - 1]} but not {steps[i]}", key="funnel_cohort_step")
st.download_button("Download cohort CSV", lambda: cohort_csv(ds, spec, k),
                   file_name=f"dropoff_step{k}.csv", mime="text/csv", key="funnel_cohort_download")
with st.expander(f"SQL ({DIALECT_NAMES.get(ds.dialect, ds.dialect)})"):
    st.code(ds.shown_sql(r.sql), language="sql")
