"""Streamlit entry point: page config, the shared sidebar (data source, roles, north star), navigation."""

import streamlit as st

from pages.common import sidebar

st.set_page_config(page_title="Product insights", page_icon=":material/insights:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
]

navigation = st.navigation(PAGES)
sidebar()
navigation.run()
