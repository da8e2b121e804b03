"""Insights page helpers: the template/LLM wording toggle and the report downloads (not a page of its own)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from insights import Dataset
from insights.findings import Finding
from insights.initiatives import Initiative
from insights.llm import ENV_KEYS, LLMConfig, load_config
from insights.llm_phrasing import Phrasing, phrase_insights
from insights.pipeline import InsightsResult
from insights.report import report_html, report_markdown


def llm_config() -> LLMConfig | None:
    """The endpoint from ``.streamlit/secrets.toml`` or the environment (None when no key is set)."""
    try:
        values = {k: st.secrets[k] for k in ENV_KEYS if k in st.secrets}
    except FileNotFoundError:  # no secrets file: st.secrets raises on access
        values = {}
    try:
        return load_config(values)
    except Exception as exc:  # a malformed setting must not break the page
        st.caption(f"The language model settings are not usable: {getattr(exc, 'message', exc)}")
        return None


@st.cache_data(show_spinner=False, max_entries=32)
def cached_phrasing(_ds: Dataset, ds_key: str, _findings: tuple[Finding, ...], findings_key: tuple[str, ...],
                    _config: LLMConfig, model_key: tuple[str, str], _docs: tuple[Initiative, ...],
                    docs_key: str) -> Phrasing:
    return phrase_insights(_ds, _findings, _config, docs=list(_docs))


def wording(ds: Dataset, result: InsightsResult, docs: Sequence[Initiative], docs_key: str) -> Phrasing | None:
    """The toggle; when on, the model's wording (cached per findings + model) with a quiet notice on fallback."""
    config = llm_config()
    on = st.toggle("Word statements with the language model", key="insights_llm", disabled=config is None,
                   help="Set OPENAI_API_KEY (and OPENAI_BASE_URL, INSIGHTS_LLM_MODEL) in the environment or "
                        ".streamlit/secrets.toml; numbers and names are checked against the findings."
                        if config is None else f"Model {config.model} at {config.endpoint}.")
    if not on or config is None or not result.insights:
        return None
    with st.spinner(f"Asking {config.model} to word the statements..."):
        phrasing = cached_phrasing(ds, ds.cache_key, result.insights,
                                   tuple(f"{f.key}|{f.statement}" for f in result.insights), config,
                                   config.cache_key, tuple(docs), docs_key)
    if phrasing.notice:
        st.caption(phrasing.notice)
    return phrasing


def statement(f: Finding, phrasing: Phrasing | None) -> None:
    """The card's statement: the model's headline, text and why when it passed the guard, else the template."""
    words = {p.key: p for p in phrasing.insights} if phrasing else {}
    w = words.get(f.key)
    if w is None or w.source != "llm":
        st.markdown(f.statement)
        return
    st.markdown(f"**{w.headline}**  \n{w.text}")
    st.caption(f"Why it matters: {w.why}" + (f" (see {w.initiative})" if w.initiative else "")
               + f"  \nExact statement: {f.statement}")


def report_downloads(result: InsightsResult, source: str, phrasing: Phrasing | None) -> None:
    """Download buttons for the HTML and Markdown reports of what the page shows, written when clicked."""
    c1, c2 = st.columns(2)
    c1.download_button("Download report (HTML)", lambda: report_html(result, source, phrasing),
                       file_name="insights_report.html", mime="text/html", key="insights_report_html")
    c2.download_button("Download report (Markdown)", lambda: report_markdown(result, source, phrasing),
                       file_name="insights_report.md", mime="text/markdown", key="insights_report_md")
