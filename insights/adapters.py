"""Turn the experiment and funnel analyses' results into findings for the ranking."""

from __future__ import annotations

from insights.dataset import Dataset
from insights.findings import Finding
from insights.metrics import Metric


def experiment_findings(ds: Dataset, north: Metric) -> list[Finding]:
    """Experiment effect and health findings (none when the data has no variant)."""
    return []


def funnel_findings(ds: Dataset, north: Metric) -> list[Finding]:
    """Funnel step findings (none when no funnel can be inferred)."""
    return []
