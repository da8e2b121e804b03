"""The statistical core: load product data, find what is true in it, explain it with SQL.

Pages and the CLI import from here only; nothing in this package imports streamlit.
"""

from insights.ask import AskResult, ask, run_user_sql
from insights.dataset import Column, Dataset, Roles
from insights.errors import InsightsError
from insights.experiment import PowerPlan, analyze_experiment, plan_next_test, variant_values
from insights.experiment_types import ExperimentResult, ExperimentSpec
from insights.funnel import FunnelResult, FunnelSpec, analyze_funnel, dropoff_cohort, parse_window, suggest_steps
from insights.llm import LLMConfig, load_config
from insights.llm_phrasing import Phrasing, phrase_insights
from insights.loading import load_bytes, load_file
from insights.metrics import Metric, build_units_sql, event_values, parse_metric
from insights.pipeline import InsightsResult, find_insights, segment_tests
from insights.profile import Profile, profile
from insights.report import report_html, report_markdown, write_report
from insights.sql import DIALECTS, inline_params, quote_ident, transpile

__all__ = [
    "LLMConfig",
    "Phrasing",
    "load_config",
    "phrase_insights",
    "report_html",
    "report_markdown",
    "write_report",
    "InsightsResult",
    "find_insights",
    "segment_tests",
    "AskResult",
    "DIALECTS",
    "Column",
    "Dataset",
    "ExperimentResult",
    "ExperimentSpec",
    "FunnelResult",
    "FunnelSpec",
    "InsightsError",
    "Metric",
    "Profile",
    "Roles",
    "PowerPlan",
    "analyze_experiment",
    "ask",
    "plan_next_test",
    "variant_values",
    "build_units_sql",
    "event_values",
    "inline_params",
    "load_bytes",
    "load_file",
    "parse_metric",
    "profile",
    "quote_ident",
    "run_user_sql",
    "transpile",
    "analyze_funnel",
    "dropoff_cohort",
    "parse_window",
    "suggest_steps",
]
