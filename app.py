"""Streamlit entry point: page config, the shared sidebar (data source, roles, north star), navigation."""

from pathlib import Path

import streamlit as st

from pages.common import SHELL_KEY, leave_legacy_pages_mode, sidebar

st.set_page_config(page_title="Product insights", page_icon=":material/insights:", layout="wide")

# Page files are resolved against this file, so the app starts from any working directory.
HERE = Path(__file__).resolve().parent

PAGES = [
    st.Page(str(HERE / "pages" / "insights.py"), title="Insights", icon=":material/insights:", default=True),
    st.Page(str(HERE / "pages" / "data.py"), title="Data", icon=":material/table:"),
    st.Page(str(HERE / "pages" / "experiment.py"), title="Experiment", icon=":material/science:"),
    st.Page(str(HERE / "pages" / "funnel.py"), title="Funnel", icon=":material/filter_alt:"),
    st.Page(str(HERE / "pages" / "ask.py"), title="Ask", icon=":material/question_answer:"),
]

leave_legacy_pages_mode()
navigation = st.navigation(PAGES)  # before the sidebar, whose first sample load is slow
sidebar()
st.session_state[SHELL_KEY] = True
try:
    navigation.run()
finally:
    st.session_state[SHELL_KEY] = False
