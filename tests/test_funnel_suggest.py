"""The default funnel suggestion: the progression a product person expects, not the most common first events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import suggest_steps


def _shop_log(seed: int = 3, n_units: int = 400) -> pd.DataFrame:
    """Every unit opens a session and views items; some search (a side path, before or after viewing), half
    are exposed to an experiment once at a random moment, and a shrinking share goes on to cart, checkout and
    purchase, each after the previous step."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        t = 0.0
        rows.append((u, t, "session_start"))
        for _ in range(rng.integers(1, 4)):
            t += rng.exponential(60)
            rows.append((u, t, "view_item"))
        if rng.random() < 0.6:
            rows.append((u, rng.uniform(0, 2 * t + 1), "search"))
        if rng.random() < 0.5:
            rows.append((u, rng.uniform(0, 400), "experiment_exposure"))
        for event, share in (("add_to_cart", 0.5), ("begin_checkout", 0.6), ("purchase", 0.7)):
            if rng.random() >= share:
                break
            t += rng.exponential(120)
            rows.append((u, t, event))
    return pd.DataFrame(rows, columns=["user_id", "ts", "event"])


def test_suggestion_on_a_synthetic_shop_is_the_purchase_progression(make_dataset):
    ds = make_dataset(_shop_log(), unit="user_id", time="ts", event="event")
    assert suggest_steps(ds, 4) == ("view_item", "add_to_cart", "begin_checkout", "purchase")


def test_suggestion_leaves_out_entry_and_exposure_events_on_the_sample(sample_ds):
    got = suggest_steps(sample_ds)
    assert got == ("view_item", "add_to_cart", "begin_checkout", "purchase")
    assert "session_start" not in got and "experiment_exposure" not in got and "search" not in got


def test_suggestion_never_has_more_units_at_a_later_step(sample_ds):
    steps = suggest_steps(sample_ds, 6)
    units = [sample_ds.query(f"SELECT count(DISTINCT user_id) FROM events WHERE event = '{s}'")[0][0] for s in steps]
    assert len(steps) >= 2 and units == sorted(units, reverse=True)


def test_suggestion_falls_back_to_frequent_events_without_a_progression(make_dataset):
    # Each unit does a single event, so no event ever follows another.
    frame = pd.DataFrame({"u": [1, 2, 3, 4, 5], "t": [0, 0, 1, 2, 3], "e": ["a", "a", "a", "b", "c"]})
    ds = make_dataset(frame, unit="u", time="t", event="e")
    got = suggest_steps(ds, 2)
    assert len(got) == 2 and got[0] == "a" and set(got) < {"a", "b", "c"}
