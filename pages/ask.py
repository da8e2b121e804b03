"""Ask page: a statement or question -> the SQL for this data, its result, a chart and a verdict."""

import math

import altair as alt
import pandas as pd
import streamlit as st

from insights import AskResult, Dataset, InsightsError, ask, run_user_sql
from pages.common import current_dataset, show_error

EXAMPLES = [
    "mobile users convert to purchase less than desktop users",
    "treatment raises purchase conversion",
    "revenue per user by country for the treatment group",
    "how many users reached checkout last week",
    "tablet users go from add to cart to checkout less than desktop users",
    "daily purchases",
]
VERDICT_STYLE = {"supported": st.success, "not supported": st.error, "inconclusive": st.warning}


@st.cache_data(show_spinner="Answering...", max_entries=64)
def cached_ask(_ds: Dataset, key: str, text: str, user_sql: bool) -> AskResult:
    return run_user_sql(_ds, text) if user_sql else ask(_ds, text)


def chart(r: AskResult) -> alt.Chart | None:
    frame = pd.DataFrame(r.rows, columns=r.columns)
    if frame.empty or len(frame.columns) < 2 or r.chart in ("number", "table"):
        return None
    x, y = frame.columns[0], r.value_column or frame.columns[-1]
    if r.chart == "line":
        return alt.Chart(frame).mark_line(point=True).encode(x=alt.X(f"{x}:T", title=x), y=alt.Y(f"{y}:Q"))
    if r.chart == "funnel":
        steps = [c for c in frame.columns if c.endswith("_units")]
        long = pd.DataFrame({"step": steps, "units": [frame[c].iloc[0] for c in steps]})
        return alt.Chart(long).mark_bar().encode(x=alt.X("step:N", sort=steps), y="units:Q")
    fmt = ".1%" if y.endswith(("_rate", "conversion")) else ",.4g"
    return alt.Chart(frame).mark_bar().encode(x=alt.X(f"{x}:N", title=x), y=alt.Y(f"{y}:Q", axis=alt.Axis(format=fmt)),
                                              tooltip=list(frame.columns))


def show(r: AskResult) -> None:
    if r.sql is None:
        st.error(r.message or "No answer.")
    else:
        if r.verdict:
            VERDICT_STYLE[r.verdict](f"The data: **{r.verdict}**" + (f" (p = {r.p_value:.3g})"
                                                                       if not math.isnan(r.p_value) else ""))
        if r.test:
            st.caption(r.test)
        if r.message:
            st.info(r.message)
        if r.chart == "number" and r.rows and r.value_column:
            st.metric(r.value_column.replace("_", " "), f"{r.rows[0][r.columns.index(r.value_column)]:,.4g}")
        picture = chart(r)
        if picture is not None:
            st.altair_chart(picture, width="stretch")
        st.dataframe(pd.DataFrame(r.rows, columns=r.columns), hide_index=True, width="stretch")
        st.code(r.sql, language="sql")
    if r.understood:
        with st.expander("What I understood", expanded=r.sql is None):
            st.json(r.understood)


st.title("Ask")
ds = current_dataset()
if ds is not None:
    st.caption("State a claim or ask a question in plain words; the answer comes with its SQL. "
               "Statements that compare two groups get a significance test and a verdict.")
    example = st.selectbox("Examples", ["", *EXAMPLES], key="ask_example")
    text = st.text_input("Statement or question", value=example, key=f"ask_text_{example}")
    if text.strip():
        try:
            show(cached_ask(ds, ds.cache_key, text.strip(), False))
        except InsightsError as exc:
            show_error(exc)
    st.subheader("Run your own SQL")
    st.caption(f"One read-only SELECT over the table {ds.table_sql}; no files, settings or other statements.")
    own = st.text_area("SQL", key="ask_user_sql", placeholder="One query, e.g. a count of rows per event")
    if st.button("Run", key="ask_run_sql") and own.strip():
        show(cached_ask(ds, ds.cache_key, own, True))
