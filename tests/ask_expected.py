"""Expected answers to the held-out Ask questions, computed with plain pandas and scipy on the Parquet file.

Independent of insights' SQL: units and their first-touch properties come from pandas sorting and grouping,
tests from scipy (``chi2_contingency`` without continuity correction, which equals the pooled two-proportion
z-test; ``ttest_ind(equal_var=False)`` on the raw values for means). ``python -m tests.ask_expected`` rewrites
``tests/data/ask_questions.json`` (text, spec, answer); tests/test_ask_accuracy.py recomputes every answer and
checks the file still agrees before it grades the offline path against it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "shop_events.parquet"
QUESTIONS = Path(__file__).resolve().parent / "data" / "ask_questions.json"
REST = "(others)"
ALPHA = 0.05
DIMS = ["variant", "country", "device", "channel", "plan"]


def _rows(df: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Rows inside the spec's time range (start inclusive, end exclusive)."""
    out = df
    if spec.get("start"):
        out = out[out.event_time >= pd.Timestamp(spec["start"])]
    if spec.get("end"):
        out = out[out.event_time < pd.Timestamp(spec["end"])]
    return out


def _units(df: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-user first-touch properties, the rows that count for the metric)."""
    ordered = df.sort_values(["user_id", "event_time"], kind="stable")
    users = ordered.groupby("user_id")[DIMS].first()
    users["n_variants"] = ordered.groupby("user_id")["variant"].nunique()
    rows = _rows(ordered, spec)
    if spec.get("exposure"):
        exposed = ordered[ordered.event == "experiment_exposure"].groupby("user_id").event_time.min()
        users = users.loc[exposed.index]
        users = users[users.n_variants == 1]
        rows = rows.join(exposed.rename("exposed_at"), on="user_id", how="inner")
        rows = rows[rows.event_time >= rows.exposed_at]
    else:
        users = users.loc[rows.user_id.unique()]
    return users, rows


def _per_user_value(users: pd.DataFrame, rows: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    if spec["kind"] == "rate":
        hit = rows[rows.event == spec["event"]].user_id.unique()
        return pd.Series(users.index.isin(hit).astype(float), index=users.index)
    if spec["kind"] == "per_unit_count":
        counts = rows[rows.event == spec["event"]].groupby("user_id").size()
        return counts.reindex(users.index, fill_value=0).astype(float)
    if spec["kind"] == "per_unit_sum":
        sums = rows.groupby("user_id")[spec["column"]].sum()
        return sums.reindex(users.index, fill_value=0.0).astype(float)
    if spec["kind"] == "funnel":
        reached = rows[rows.event == spec["steps"][0]].groupby("user_id").event_time.min()
        for step in spec["steps"][1:]:
            nxt = rows[rows.event == step].join(reached.rename("prev"), on="user_id", how="inner")
            reached = nxt[nxt.event_time >= nxt.prev].groupby("user_id").event_time.min()
        return pd.Series(users.index.isin(reached.index).astype(float), index=users.index)
    raise ValueError(spec["kind"])


def _unit_answer(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    users, rows = _units(df, spec)
    for col, val in spec.get("filters", {}).items():
        users = users[users[col] == val]
    if spec["kind"] == "funnel":
        first = rows[rows.event == spec["steps"][0]].user_id.unique()
        users = users[users.index.isin(first)]
    values = _per_user_value(users, rows, spec)
    by = spec.get("by")
    if by is None:
        return {"value": float(values.mean()), "n": int(len(values))}
    if "groups" in spec:
        a, b = spec["groups"]
        labels = users[by].where(users[by] == a, REST) if b == REST else users[by]
        va, vb = values[labels == a], values[labels == b]
        if spec["kind"] in ("rate", "funnel"):
            table = [[va.sum(), len(va) - va.sum()], [vb.sum(), len(vb) - vb.sum()]]
            p = float(stats.chi2_contingency(np.array(table), correction=False)[1])
        else:
            p = float(stats.ttest_ind(va, vb, equal_var=False).pvalue)
        return _compare(spec, va, vb, p)
    grouped = values.groupby(users[by])
    return {"values": {str(k): float(v) for k, v in grouped.mean().items()}}


def _compare(spec: dict[str, Any], va: pd.Series, vb: pd.Series, p: float) -> dict[str, Any]:
    a, b = spec["groups"]
    diff = va.mean() - vb.mean()
    direction = spec.get("direction")
    verdict = None
    if direction:
        if p >= ALPHA:
            verdict = "inconclusive"
        elif direction == "differ":
            verdict = "supported"
        else:
            verdict = "supported" if (diff < 0) == (direction == "less") else "not supported"
    return {"values": {a: float(va.mean()), b: float(vb.mean())}, "n": {a: len(va), b: len(vb)},
            "p_value": p, "verdict": verdict}


def _row_answer(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    rows = _rows(df, spec)
    if spec.get("event"):
        rows = rows[rows.event == spec["event"]]
    for col, val in spec.get("filters", {}).items():
        rows = rows[rows[col] == val]
    kind = spec["kind"]
    if kind == "row_mean":
        rows = rows[rows[spec["column"]].notna()]
    if "groups" in spec:
        a, b = spec["groups"]
        col = rows[spec["by"]]
        labels = col.where(col == a, REST) if b == REST else col
        va, vb = rows.loc[labels == a, spec["column"]], rows.loc[labels == b, spec["column"]]
        return _compare(spec, va, vb, float(stats.ttest_ind(va, vb, equal_var=False).pvalue))

    def agg(frame: pd.DataFrame) -> float:
        if kind == "units":
            return float(frame.user_id.nunique())
        if kind == "events":
            return float(len(frame))
        if kind == "total":
            return float(frame[spec["column"]].sum())
        return float(frame[spec["column"]].mean())

    if spec.get("grain"):
        freq = {"day": "D", "week": "W-SUN", "month": "M"}[spec["grain"]]
        keys = rows.event_time.dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
        return {"values": {k: agg(g) for k, g in rows.groupby(keys)}}
    if spec.get("by"):
        return {"values": {str(k): agg(g) for k, g in rows.groupby(spec["by"])}}
    return {"value": agg(rows)}


def expected(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to one spec, or None for a question that must be declined."""
    if spec["kind"] == "none":
        return None
    if spec["kind"] in ("rate", "per_unit_count", "per_unit_sum", "funnel"):
        return _unit_answer(df, spec)
    return _row_answer(df, spec)


def load_sample() -> pd.DataFrame:
    return pd.read_parquet(SAMPLE)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def main() -> None:
    data = json.loads(QUESTIONS.read_text())
    df = load_sample()
    for q in data["questions"]:
        q["answer"] = _clean(expected(df, q["spec"]))
    QUESTIONS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
