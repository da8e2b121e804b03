"""Experiment page: health first, then lifts with intervals, the Bayesian and peeking-safe views, segments, power."""

import dataclasses

import altair as alt
import pandas as pd
import streamlit as st

from insights import (
    Dataset,
    ExperimentResult,
    ExperimentSpec,
    InsightsError,
    analyze_experiment,
    plan_next_test,
    variant_values,
)
from pages.common import NONE, current_dataset, events_of, metric_options, north_star, show_error


@st.cache_data(show_spinner="Analysing the experiment...", max_entries=16)
def cached_experiment(_ds: Dataset, key: str, spec: ExperimentSpec) -> ExperimentResult:
    return analyze_experiment(_ds, spec)


def comparison_frame(rows: list, segment: bool = False) -> pd.DataFrame:
    cols = ["metric", "role", "variant", "n_control", "n_variant", "control_mean", "variant_mean", "abs_diff",
            "rel_lift", "rel_ci_low", "rel_ci_high", "p_value", "p_value_adjusted", "chance_to_win",
            "expected_loss", "seq_p_value", "variance_reduction", "error"]
    frame = pd.DataFrame([{c: getattr(r.comparison if segment else r, c) for c in cols} for r in rows])
    if segment:
        frame.insert(0, "segment", [r.segment for r in rows])
    return frame


st.title("Experiment")
ds = current_dataset()
if ds is None:
    st.stop()
left, right = st.columns(2)
columns = list(ds.column_names)
if st.session_state.get("experiment_variant_role") != (ds.key, ds.roles.variant):  # the sidebar's role changed
    st.session_state.pop("experiment_variant", None)
    st.session_state["experiment_variant_role"] = (ds.key, ds.roles.variant)
variant_col = left.selectbox("Variant column", columns, key="experiment_variant", placeholder="Pick a column",
                             index=columns.index(ds.roles.variant) if ds.roles.variant in columns else None)
options = metric_options(ds)
star = north_star(ds)
primary = left.selectbox("North-star metric", options, key="experiment_metric",
                         index=options.index(star) if star in options else 0)
secondary = right.multiselect("Secondary metrics", [o for o in options if o != primary], key="experiment_secondary")
guardrails = right.multiselect("Guardrail metrics", [o for o in options if o != primary], key="experiment_guardrails")
if variant_col is None:
    st.info("No column looks like the experiment's variant: pick it above, or set it under Column roles.")
    st.stop()
try:
    values = variant_values(ds, variant_col)
    events = events_of(ds, ds.cache_key) if ds.shape == "event_log" else []
except InsightsError as exc:
    show_error(exc)
    st.stop()
control = left.selectbox("Control", ["(automatic)", *values], key="experiment_control")
exposures = [NONE, *events]
exposure = right.selectbox("Exposure event", exposures, key="experiment_exposure",
                           index=next((i for i, e in enumerate(exposures) if "exposure" in e), 0))
with st.expander("Options"):
    o1, o2, o3 = st.columns(3)
    correction = o1.radio("Correction", ["bh", "holm"], horizontal=True, key="experiment_correction",
                          format_func=lambda m: {"bh": "Benjamini-Hochberg", "holm": "Holm"}[m])
    cuped = o1.checkbox("CUPED (pre-exposure period)", value=True, key="experiment_cuped")
    sequential = o1.checkbox("Peeking-safe (sequential) view", value=True, key="experiment_sequential")
    cap = o2.slider("Cap continuous metrics at percentile (0 = off)", 0.0, 99.9, 0.0, 0.1, key="experiment_cap")
    prior_sd = o2.number_input("Prior sd of the relative lift (0 = flat)", 0.0, 10.0, 0.0, key="experiment_prior")
    segment = o3.selectbox("Segment by", [NONE, *ds.roles.dimensions], key="experiment_segment")
    top_n = o3.number_input("Top segments", 1, 50, 10, key="experiment_top_n")
spec = ExperimentSpec(
    metrics=(primary, *secondary), guardrails=tuple(guardrails), variant=variant_col,
    control=None if control == "(automatic)" else control, exposure_event=None if exposure == NONE else exposure,
    correction=correction, cap_percentile=cap / 100 if cap else None, cuped=cuped, sequential=sequential,
    segment=None if segment == NONE else segment, top_n=int(top_n), prior_var=prior_sd**2 if prior_sd else None,
)
try:
    r = cached_experiment(ds, ds.cache_key, spec)
except InsightsError as exc:
    show_error(exc)
    st.stop()

st.subheader("Health")
h = r.health
(st.error if h.srm.flagged else st.success)(h.srm.message)
for w in h.warnings:
    if w.code != "srm":
        st.warning(w.message, icon=":material/warning:")
m = st.columns(4)
m[0].metric("Units analysed", f"{h.n_units:,}")
m[1].metric("In several variants", f"{h.n_multiple_exposures:,}")
m[2].metric("Small variants", len(h.small_variants))
m[3].metric("Days of data", f"{h.days:.1f}" if h.days is not None else "-")
st.caption(" · ".join(f"{k}: {v:,}" for k, v in h.srm.counts.items()) + f" · control: {r.control}")
if r.error:
    st.info(r.message)
    st.stop()

st.subheader("Results")
table = comparison_frame(list(r.comparisons))
st.dataframe(table, hide_index=True, width="stretch", key="experiment_table", column_config={
    c: st.column_config.NumberColumn(c, format="percent") for c in ("rel_lift", "rel_ci_low", "rel_ci_high")})
forest = table.assign(label=table.metric + " · " + table.variant)
base = alt.Chart(forest).encode(y=alt.Y("label:N", title=None))
st.altair_chart(
    base.mark_rule().encode(x=alt.X("rel_ci_low:Q", title="relative lift", axis=alt.Axis(format="%")),
                            x2="rel_ci_high:Q")
    + base.mark_point(filled=True).encode(x="rel_lift:Q", tooltip=["label", "rel_lift", "p_value_adjusted"])
    + alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q"),
    width="stretch")

if r.cumulative:
    st.subheader("Cumulative lift (always-valid interval)")
    cum = pd.DataFrame([dataclasses.asdict(p) for p in r.cumulative])
    line = alt.Chart(cum).encode(x=alt.X("day:T"), color="variant:N")
    st.altair_chart(line.mark_area(opacity=0.2).encode(y=alt.Y("rel_ci_low:Q", title="relative lift",
                                                                 axis=alt.Axis(format="%")), y2="rel_ci_high:Q")
                    + line.mark_line().encode(y="rel_lift:Q"), width="stretch")

if r.segments:
    st.subheader(f"By {r.segment_column}")
    st.dataframe(comparison_frame(list(r.segments), segment=True), hide_index=True, key="experiment_segments")
    if r.n_segments_folded:
        st.caption(f"{r.n_segments_folded} smaller values are folded into '(other)'.")

st.subheader("Plan the next test")
summary = r.metrics[0]
p1, p2 = st.columns(2)
lift = p1.number_input("Relative lift to detect (%)", 0.1, 500.0, 5.0, key="experiment_mde") / 100
plan = plan_next_test(summary, lift, min(h.srm.counts.values()), r.alpha)
p2.metric("Units per group needed", f"{plan.n_per_group:,}" if plan.n_per_group else "-")
p2.caption(f"With {plan.n:,} per group (as now) the smallest detectable lift is {plan.mde_at_n:.1%}; "
           f"control {summary.name} mean {summary.control_mean:.4g}, sd {summary.control_std:.4g}.")
if plan.message:
    st.caption(plan.message)
with st.expander("SQL behind these numbers"):
    st.code(r.sql, language="sql")
