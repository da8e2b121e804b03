"""Data page: what was loaded, how each column is read, and what could mislead an analysis."""

import pandas as pd
import streamlit as st

from insights import Dataset, InsightsError, Profile, profile
from pages.common import current_dataset, show_error


@st.cache_data(show_spinner="Profiling the data...", max_entries=16)
def cached_profile(_ds: Dataset, key: str) -> Profile:
    return profile(_ds)


st.title("Data")
ds = current_dataset()
if ds is not None:
    try:
        p = cached_profile(ds, ds.cache_key)
    except InsightsError as exc:
        show_error(exc)
        st.stop()
    st.caption(f"{p.source} · read as {'an event log' if p.shape == 'event_log' else 'a unit table'}")
    cols = st.columns(4)
    cols[0].metric("Rows", f"{p.n_rows:,}")
    cols[1].metric("Units", f"{p.n_units:,}" if p.n_units is not None else "no unit id")
    cols[2].metric("From", str(p.time_min)[:10] if p.time_min else "-", help=str(p.time_min))
    cols[3].metric("To", str(p.time_max)[:10] if p.time_max else "-", help=str(p.time_max))
    for w in p.warnings:
        st.warning(w.message, icon=":material/warning:")
    table = pd.DataFrame(
        {
            "column": [c.name for c in p.columns],
            "role": [c.role for c in p.columns],
            "type": [c.dtype for c in p.columns],
            "nulls": [c.null_rate for c in p.columns],
            "distinct": [c.n_distinct for c in p.columns],
            "sample values": [", ".join(c.samples) for c in p.columns],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"nulls": st.column_config.ProgressColumn("nulls", format="percent", min_value=0, max_value=1)},
        key="data_columns",
    )
