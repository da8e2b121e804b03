"""Ranking: one BH family over every test, explaining away echoes of a picked segment, relevance to docs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from insights.initiatives import name_relevance, parse_initiative, relevance
from insights.pipeline import find_insights


@pytest.fixture
def echo_ds(make_dataset):
    """One low segment (channel = bad); every other channel only looks high against a rest containing it."""
    rng = np.random.default_rng(11)
    n = 30_000
    channel = rng.choice(["bad", "c1", "c2", "c3"], n, p=[0.3, 0.3, 0.2, 0.2])
    device = rng.choice(["ios", "android"], n)
    p = np.where(channel == "bad", 0.05, 0.15)
    frame = pd.DataFrame({"uid": np.arange(n).astype(str), "channel": channel, "device": device,
                          "converted": (rng.random(n) < p).astype(int)})
    return make_dataset(frame, unit="uid", dimensions=("channel", "device"), metrics=("converted",))


def test_every_test_is_adjusted_in_one_bh_family(echo_ds):
    res = find_insights(echo_ds, "converted")
    tests = [f for f in res.all_findings if f.is_test]
    ref = multipletests([f.p_value for f in tests], method="fdr_bh")[1]
    assert res.tests_run == len(tests)
    assert [f.p_value_adjusted for f in tests] == pytest.approx(list(ref), rel=1e-12)


def test_the_rest_of_a_dimension_is_explained_away(echo_ds):
    res = find_insights(echo_ds, "converted")
    raw_significant = [f for f in res.all_findings if f.is_test and f.p_value_adjusted <= res.fdr]
    assert {f.value for f in raw_significant} >= {"bad", "c1", "c2", "c3"}  # the echoes pass BH alone
    assert [(f.dimension, f.value) for f in res.insights] == [("channel", "bad")]


def test_relevance_matches_phrases_and_words():
    doc = parse_initiative("# Cart drawer\nLaunch date: 2026-08-24\nWe changed the add to cart button on tablet.",
                           "x.md")
    assert doc.launch_dates[0].isoformat() == "2026-08-24"
    assert name_relevance("add_to_cart", doc) == 1.0
    assert name_relevance("addToCart", doc) == 1.0
    assert name_relevance("tablet", doc) == 1.0
    assert name_relevance("paid_social", doc) == 0.0
    assert relevance(["desktop", "tablet"], [doc]) == (1.0, "Cart drawer")
    assert not doc.is_experiment
    assert parse_initiative("# Checkout experiment\nStatus: running (A/B test)", "y.md").is_experiment
    assert not parse_initiative("# Search\nStatus: shipped (no experiment)", "z.md").is_experiment
