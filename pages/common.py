"""What every page shares: the loaded dataset in session state, the sidebar, error display."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from insights import Dataset, InsightsError, event_values, load_bytes, load_file
from insights.sql import DIALECT_NAMES as DIALECT_NAMES
from insights.warehouse import configured_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "sample_data" / "shop_events.parquet"
SHELL_KEY = "app_shell_running"
NONE = "(none)"
SAMPLE, UPLOADED, WAREHOUSE = "Bundled sample", "Uploaded file", "Warehouse or Spark"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"
MAX_UPLOAD_MB = float(os.environ.get("INSIGHTS_MAX_UPLOAD_MB", "500"))


@st.cache_resource(show_spinner="Loading the bundled sample...")
def load_sample() -> Dataset:
    """The bundled sample, loaded once per server (it is read-only and the same for everyone)."""
    return load_file(SAMPLE_PATH)


@st.cache_data(show_spinner=False, max_entries=64)
def events_of(_ds: Dataset, key: str) -> list[str]:
    """Distinct event names, most frequent first, once per dataset and roles (``key``: ``ds.cache_key``)."""
    return event_values(_ds)


@st.cache_resource(show_spinner="Connecting to the warehouse...", max_entries=4)
def load_warehouse(source: str, table: str | None, sql: str | None) -> Dataset:
    """The configured engine's events (they stay there; every analysis runs as SQL on the engine)."""
    from insights.warehouse import open_engine_source

    return open_engine_source(source, table=table, sql=sql)


def _load_upload() -> None:
    """Load a newly uploaded file; on failure keep the previous dataset and say why in one line."""
    upload = st.session_state.get("sidebar_upload")
    if upload is None or st.session_state.get("upload_id") == upload.file_id:
        return
    st.session_state["upload_id"] = upload.file_id
    try:
        with st.spinner(f"Loading {upload.name}..."):
            ds = load_bytes(upload.getvalue(), upload.name, max_mb=MAX_UPLOAD_MB)
    except InsightsError as exc:
        st.session_state["upload_error"] = exc.message
        return
    st.session_state.pop("upload_error", None)
    st.session_state["uploaded"] = ds
    st.session_state["source"] = UPLOADED


def _base_dataset(warehouse: tuple[str, str | None, str | None] | None) -> Dataset | None:
    if st.session_state.get("source") == UPLOADED and "uploaded" in st.session_state:
        return st.session_state["uploaded"]
    if st.session_state.get("source") == WAREHOUSE and warehouse is not None:
        try:
            return load_warehouse(*warehouse)
        except InsightsError as exc:
            st.sidebar.error(f"{exc.message} The bundled sample is shown instead.")
    try:
        return load_sample()
    except InsightsError as exc:
        st.sidebar.error(exc.message)
        return None


def _role_select(ds: Dataset, role: str, label: str) -> str | None:
    options = [NONE, *ds.column_names]
    current = getattr(ds.roles, role)
    key = f"sidebar_role_{role}_{ds.key}"
    choice = st.selectbox(label, options, index=options.index(current) if current in options else 0, key=key)
    return None if choice == NONE else choice


def _apply_roles(ds: Dataset) -> Dataset:
    with st.sidebar.expander("Column roles", expanded=False):
        st.caption("Inferred from names, types and values. Change any of them; every page uses your choice.")
        chosen = {role: _role_select(ds, role, label) for role, label in
                  (("unit", "Unit id"), ("time", "Timestamp"), ("event", "Event name"), ("variant", "Variant"))}
        dims = st.multiselect("Dimensions", [c for c in ds.column_names if c not in chosen.values()],
                              default=[d for d in ds.roles.dimensions if d not in chosen.values()],
                              key=f"sidebar_dims_{ds.key}")
    try:
        return ds.with_roles(**chosen, dimensions=tuple(dims))
    except InsightsError as exc:
        st.sidebar.error(exc.message)
        return ds


def metric_options(ds: Dataset) -> list[str]:
    """Metric specs the user can pick: events (conversion), then numeric columns."""
    if ds.shape == "event_log":
        events = events_of(ds, ds.cache_key)
        sums = [f"sum:{m}" for m in ds.roles.metrics]
        return events + [f"count:{e}" for e in events] + sums
    return list(ds.roles.metrics)


def _default_north_star(options: list[str]) -> int:
    for preferred in ("purchase", "converted", "conversion", "retention_7", "order"):
        for i, o in enumerate(options):
            if o == preferred or o.endswith(preferred):
                return i
    return 0


def sidebar() -> Dataset | None:
    """Draw the sidebar and put the current dataset (with the user's roles) in session state."""
    st.sidebar.header("Data")
    _load_upload()
    warehouse = configured_source(SECRETS_PATH)
    sources = [SAMPLE, *([UPLOADED] if "uploaded" in st.session_state else []), *([WAREHOUSE] if warehouse else [])]
    if st.session_state.get("source") not in sources:
        st.session_state["source"] = SAMPLE
    st.sidebar.radio("Source", sources, key="source")
    st.sidebar.file_uploader("Upload CSV, gzip CSV or Parquet", type=["csv", "gz", "parquet", "tsv", "txt"],
                             key="sidebar_upload", on_change=_load_upload)
    if "upload_error" in st.session_state:
        st.sidebar.error(st.session_state["upload_error"])
    if st.session_state.get("source") == WAREHOUSE and warehouse is not None:
        st.sidebar.caption("Events stay in the engine; only aggregates come back. Configured by INSIGHTS_SOURCE "
                           "or the [warehouse] secrets.")
    base = _base_dataset(warehouse)
    if base is None:
        st.session_state["dataset"] = None
        return None
    ds = _apply_roles(base)
    options = metric_options(ds)
    if options:
        st.sidebar.selectbox("North-star metric", options, index=_default_north_star(options),
                             key=f"sidebar_north_star_{ds.key}")
    st.session_state["dataset"] = ds
    return ds


def leave_legacy_pages_mode(force: bool = False) -> None:
    """Until ``st.navigation`` has run once, Streamlit treats a ``pages/`` folder as its legacy multipage
    mode: the first visit lists every file and may run a page without app.py (no sidebar). Switch the mode
    off, as ``st.navigation`` does, and rerun so that this visit already gets the real navigation."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory or force:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _ensure_shell() -> None:
    """A page run without app.py (legacy mode, see above) is sent back through app.py."""
    if not st.session_state.get(SHELL_KEY):
        leave_legacy_pages_mode(force=True)


def current_dataset() -> Dataset | None:
    """The dataset every page analyses, or None (with a message already shown)."""
    _ensure_shell()
    ds = st.session_state.get("dataset")
    if ds is None:
        st.info("Load a dataset from the sidebar to begin.")
    return ds


def north_star(ds: Dataset) -> str | None:
    """The metric spec the user marked as primary."""
    return st.session_state.get(f"sidebar_north_star_{ds.key}")


def show_error(exc: InsightsError) -> None:
    st.error(exc.message)
