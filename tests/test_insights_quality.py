"""Measured quality of the top-5 insights on seeded synthetic data: precision, recall, false alarms on noise.

Design (sized for < 60 s on two shared cores): each file holds many independent metric columns (or events)
over the same units, so one load serves many replicates. A *noise* metric has the same distribution in
every segment; a *planted* metric has one (dimension, value) segment shifted by a known relative lift. Three
shapes with different column names: a 20,000-unit table with a numeric dimension, a 12,000-unit table
with other names and a continuous metric, and a 6,000-user event log.

- False alarms: share of noise metrics for which the top list is not empty (target <= 5%; 180 noise
  replicates, so a true rate of 1%, the FDR level, is measured with a 95% upper bound near 4%).
- Recall: share of planted effects "above the detectable size" (expected |z| of the segment-vs-rest test at
  least 5, which the BH step at 1% over ~20 tests detects with power well above 0.9) whose segment is in the
  top 5. Target >= 0.85.
- Precision: share of all top-5 findings over planted metrics that name the planted segment. Target >= 0.9.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from insights import load_file
from insights.pipeline import find_insights

MEASURED: dict[str, float] = {}


def _cats(rng: np.random.Generator, n: int, values: list[str], shares: list[float]) -> np.ndarray:
    return rng.choice(values, size=n, p=np.asarray(shares) / sum(shares))


def _plant(rng, frame, dims, n_metrics, prefix, continuous=False):
    """Add ``n_metrics`` noise and ``n_metrics`` planted metric columns; return the plan per planted column."""
    n = len(frame)
    plans = {}
    for k in range(n_metrics):
        base = rng.uniform(0.05, 0.3)
        if continuous:
            frame[f"{prefix}noise{k}"] = rng.lognormal(3.0, 0.8, n)
        else:
            frame[f"{prefix}noise{k}"] = (rng.random(n) < base).astype(np.int8)
        dim = dims[rng.integers(len(dims))]
        values = sorted(frame[dim].unique())
        value = values[rng.integers(len(values))]
        lift = rng.choice([0.1, 0.2, 0.3, 0.5]) * rng.choice([-1, 1])
        in_seg = (frame[dim] == value).to_numpy()
        if continuous:
            y = rng.lognormal(3.0, 0.8, n) * np.where(in_seg, 1 + lift, 1.0)
            sd = math.sqrt((math.exp(0.64) - 1) * math.exp(6 + 0.64))
            mean = math.exp(3.0 + 0.32)
            diff, se_unit = abs(lift) * mean, sd
        else:
            p = np.where(in_seg, base * (1 + lift), base)
            y = (rng.random(n) < p).astype(np.int8)
            diff, se_unit = abs(lift) * base, math.sqrt(base * (1 - base))
        n1 = int(in_seg.sum())
        z = diff / (se_unit * math.sqrt(1 / max(n1, 1) + 1 / max(n - n1, 1)))
        frame[f"{prefix}plant{k}"] = y
        plans[f"{prefix}plant{k}"] = (dim, str(value), z)
    return plans


def _unit_table_a(rng):
    n = 20_000
    f = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "region": _cats(rng, n, ["north", "south", "east", "west", "central"], [3, 2, 2, 2, 1]),
        "tier": _cats(rng, n, ["basic", "pro"], [4, 1]),
        "acquisition": _cats(rng, n, ["ads", "seo", "partner", "direct"], [3, 3, 1, 2]),
        "age": rng.integers(18, 80, n),
    })
    plans = _plant(rng, f, ["region", "tier", "acquisition"], 90, "a_")
    return f, plans, dict(dimensions=("region", "tier", "acquisition", "age"))


def _unit_table_b(rng):
    n = 12_000
    f = pd.DataFrame({
        "Account Key": np.arange(n) + 10_000,
        "plan type": _cats(rng, n, ["starter", "team", "enterprise"], [5, 3, 1]),
        "Country_Code": _cats(rng, n, ["US", "DE", "FR", "JP", "BR", "IN"], [4, 2, 1, 1, 1, 1]),
    })
    plans = _plant(rng, f, ["plan type", "Country_Code"], 50, "b_", continuous=True)
    return f, plans, dict(unit="Account Key", dimensions=("plan type", "Country_Code"))


def _event_log_c(rng):
    n = 6_000
    users = pd.DataFrame({
        "uid": [f"u{i:05d}" for i in range(n)],
        "platform": _cats(rng, n, ["ios", "android", "web"], [2, 2, 3]),
        "source": _cats(rng, n, ["ads", "organic", "referral", "social"], [2, 4, 1, 2]),
    })
    wide = users.copy()
    plans = _plant(rng, wide, ["platform", "source"], 40, "ev_")
    rows = [users.assign(action="open")]
    for col in [c for c in wide.columns if c.startswith("ev_")]:
        rows.append(users[wide[col].to_numpy() == 1].assign(action=col))
    log = pd.concat(rows, ignore_index=True)
    log["ts"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30 * 86_400, len(log)), unit="s")
    return log[["uid", "ts", "action", "platform", "source"]], plans, dict(dimensions=("platform", "source"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    rng = np.random.default_rng(20261127)
    out = []
    for make in (_unit_table_a, _unit_table_b, _event_log_c):
        frame, plans, roles = make(rng)
        path = tmp_path_factory.mktemp("quality") / f"{make.__name__}.parquet"
        frame.to_parquet(path, index=False)
        ds = load_file(path).with_roles(**roles)
        names = [c for c in frame.columns if "noise" in c or "plant" in c] or sorted(plans)
        if "action" in frame.columns:
            names = sorted(frame["action"].unique().tolist())
            names.remove("open")
            ds = ds.with_roles(metrics=())
        for name in names:
            result = find_insights(ds, name)
            out.append((name, plans.get(name), result))
    return out


def test_pure_noise_rarely_produces_any_finding(runs):
    noise = [r for name, plan, r in runs if plan is None]
    alarms = sum(1 for r in noise if r.insights)
    rate = alarms / len(noise)
    MEASURED["noise_false_alarm_rate"] = rate
    print(f"noise datasets: {len(noise)}, with any finding: {alarms} ({rate:.1%})")
    assert len(noise) >= 180
    assert rate <= 0.05


def test_planted_effects_found_with_high_precision_and_recall(runs):
    planted = [(plan, r) for name, plan, r in runs if plan is not None]
    detectable = [(plan, r) for plan, r in planted if plan[2] >= 5]
    hits = sum(1 for (dim, value, _), r in detectable
               if any(f.dimension == dim and f.value == value for f in r.insights))
    recall = hits / len(detectable)
    shown = [(plan, f) for plan, r in planted for f in r.insights]
    correct = sum(1 for (dim, value, _), f in shown if f.dimension == dim and f.value == value)
    precision = correct / len(shown)
    MEASURED.update(recall=recall, precision=precision)
    print(f"planted: {len(planted)}, detectable: {len(detectable)}, recall {recall:.3f}; "
          f"top-5 findings {len(shown)}, precision {precision:.3f}")
    assert len(detectable) >= 60
    assert recall >= 0.85
    assert precision >= 0.9
