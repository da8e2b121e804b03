"""Insights page: the top findings as cards (statement, key numbers, chart, SQL in any dialect, why it ranked)."""

from pathlib import Path

import streamlit as st

from insights import DIALECTS, Dataset, InsightsError, transpile
from insights.charts import vega_lite
from insights.initiatives import Initiative, load_initiatives, parse_initiative
from insights.phrasing import is_rate
from insights.pipeline import InsightsResult, find_insights
from pages import insights_llm
from pages.common import DIALECT_NAMES, current_dataset, north_star, show_error

BUNDLED_DOCS = Path(__file__).resolve().parent.parent / "sample_data" / "initiatives"


@st.cache_data(show_spinner=False, max_entries=16)
def cached_insights(_ds: Dataset, key: str, metric: str | None, _docs: tuple[Initiative, ...], docs_key: str,
                    top_k: int) -> InsightsResult:
    bar = st.progress(0.0, text="Starting")
    try:
        return find_insights(_ds, metric, docs=list(_docs), top_k=top_k,
                             progress=lambda fraction, message: bar.progress(fraction, text=message))
    finally:
        bar.empty()


def _docs(choice: str) -> tuple[Initiative, ...]:
    if choice == "Bundled (sample_data/initiatives)":
        return tuple(load_initiatives([BUNDLED_DOCS])) if BUNDLED_DOCS.exists() else ()
    uploads = st.session_state.get("insights_doc_upload") or []
    return tuple(parse_initiative(u.getvalue().decode("utf-8", "replace"), u.name) for u in uploads)


def _key_numbers(f) -> None:  # noqa: ANN001 - a Finding
    cols = st.columns(4)
    rate = is_rate(f)
    show = (lambda x: f"{x:.2%}") if rate else (lambda x: f"{x:,.3g}")
    cols[0].metric("Subject", show(f.subject_mean) if f.subject_mean == f.subject_mean else "-")
    cols[1].metric("Baseline", show(f.baseline_mean) if f.baseline_mean == f.baseline_mean else "-")
    cols[2].metric("Units", f"{f.n_units:,}")
    cols[3].metric("Adjusted p", f"{f.p_value_adjusted:.2g}" if f.is_test else "check")


st.title("Insights")
ds = current_dataset()
if ds is not None:
    c1, c2, c3 = st.columns([2, 2, 1])
    doc_choice = c1.radio("Past-initiative docs", ["Bundled (sample_data/initiatives)", "Upload", "None"],
                          horizontal=True, key="insights_docs")
    if doc_choice == "Upload":
        c1.file_uploader("Markdown or text", type=["md", "markdown", "txt"], accept_multiple_files=True,
                         key="insights_doc_upload")
    dialect = c2.selectbox("SQL dialect", DIALECTS, index=DIALECTS.index(ds.dialect), format_func=DIALECT_NAMES.get,
                           key=f"insights_dialect_{ds.dialect}")
    top_k = c3.number_input("Top", min_value=1, max_value=20, value=5, key="insights_top")
    try:
        docs = _docs(doc_choice) if doc_choice != "None" else ()
        docs_key = "|".join(f"{d.name}:{hash(d.text)}" for d in docs)
        result = cached_insights(ds, ds.cache_key, north_star(ds), docs, docs_key, int(top_k))
    except InsightsError as exc:
        show_error(exc)
        st.stop()
    st.caption(f"North star: {result.metric} · {result.tests_run:,} tests in one Benjamini-Hochberg family at "
               f"{result.fdr:.0%} · {result.n_eligible} findings survived"
               + (f" · docs: {', '.join(result.docs)}" if result.docs else ""))
    if not result.insights:
        st.info("Nothing survived the multiple-testing correction: no segment, change or fault stands out.")
    phrasing = insights_llm.wording(ds, result, docs, docs_key)
    for i, f in enumerate(result.insights, 1):
        with st.container(border=True):
            st.subheader(f"{i}. {f.kind.replace('_', ' ').capitalize()}")
            insights_llm.statement(f, phrasing)
            _key_numbers(f)
            if f.chart is not None and f.chart.rows:
                st.vega_lite_chart(vega_lite(f.chart), width="stretch")
            with st.expander("SQL that reproduces these numbers"):
                st.code(result.sql_of(f) if dialect == ds.dialect else transpile(f.sql, dialect), language="sql")
            st.caption(f"Why it ranked: {f.rank_reason}")
    more = result.all_findings[len(result.insights): result.n_eligible]
    with st.expander(f"Show more ({len(more)} other significant findings)"):
        for f in more:
            st.markdown(f"- {f.statement}")
    insights_llm.report_downloads(result, Path(ds.source).name, phrasing)
