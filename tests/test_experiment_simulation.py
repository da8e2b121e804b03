"""A/A experiments through the whole analyze_experiment path (SQL, health, tests, sequential series).

One seeded unit table holds ``N_OUTCOMES`` independent pairs of outcomes (binary ``c{j}``, skewed continuous
``s{j}``) and ``N_ASSIGN`` independent random assignments (``a{k}``); no assignment affects any outcome, so
each of the ``N_SIM = N_ASSIGN x N_OUTCOMES`` analyses is an A/A test, and their false positives are (close
to) independent draws. With 300 tests a 5% rate has a standard error of 1.26 points: the bands below are
about 2.6 standard errors either side (fixed horizon) and that much above 5% (sequential, checked daily).
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from insights import ExperimentSpec, analyze_experiment

pytestmark = pytest.mark.slow

N_ASSIGN = 100
N_OUTCOMES = 3
N_SIM = N_ASSIGN * N_OUTCOMES
N_UNITS = 1200
ALPHA = 0.05


@pytest.fixture(scope="module")
def aa_dataset(tmp_path_factory):
    from insights import load_file

    rng = np.random.default_rng(20260701)
    frame = pd.DataFrame({
        "user_id": np.arange(N_UNITS),
        "ts": [dt.datetime(2026, 7, 1) + dt.timedelta(hours=int(h)) for h in rng.integers(0, 14 * 24, N_UNITS)],
        **{f"c{j}": rng.binomial(1, 0.15, N_UNITS) for j in range(N_OUTCOMES)},
        **{f"s{j}": rng.exponential(20.0, N_UNITS) for j in range(N_OUTCOMES)},
    })
    arms = rng.choice(np.array(["control", "treatment"]), size=(N_UNITS, N_ASSIGN))
    frame = pd.concat([frame, pd.DataFrame(arms, columns=[f"a{k}" for k in range(N_ASSIGN)])], axis=1)
    path = tmp_path_factory.mktemp("aa") / "aa.parquet"
    frame.to_parquet(path, index=False)
    return load_file(path).with_roles(unit="user_id", time="ts", dimensions=(), metrics=())


def test_aa_false_positive_rates_through_the_full_path(aa_dataset) -> None:
    fixed = {"binary": 0, "continuous": 0}
    sequential_any = 0
    for k, j in itertools.product(range(N_ASSIGN), range(N_OUTCOMES)):
        ds = aa_dataset.with_roles(variant=f"a{k}")
        r = analyze_experiment(ds, ExperimentSpec(metrics=(f"c{j}", f"s{j}"), sequential=True))
        assert r.error is None and r.health.n_units == N_UNITS
        for c in r.comparisons:
            fixed["binary" if c.binary else "continuous"] += c.p_value < ALPHA
        # the always-valid p-value, checked after every day, stays below alpha with probability <= alpha
        sequential_any += min(p.p_value for p in r.cumulative) < ALPHA
        last = r.cumulative[-1]
        assert last.p_value == pytest.approx(min(p.p_value for p in r.cumulative))
    for metric, hits in fixed.items():
        assert 0.017 <= hits / N_SIM <= 0.083, (metric, hits)
    assert sequential_any / N_SIM <= 0.083, sequential_any
