"""Role inference on real public datasets and on awkward files; overrides win over inference."""

from __future__ import annotations

import pandas as pd
import pytest

from insights import InsightsError, build_units_sql, load_file, parse_metric
from tests.conftest import shared_file


def test_cookie_cats_is_a_unit_table_with_variant_and_binary_metrics():
    ds = load_file(shared_file("cookie_cats", "cookie_cats.csv"))
    assert ds.shape == "unit_table"
    assert (ds.roles.unit, ds.roles.variant) == ("userid", "version")
    assert set(ds.roles.metrics) == {"sum_gamerounds", "retention_1", "retention_7"}
    assert parse_metric("retention_7", ds).binary and not parse_metric("sum_gamerounds", ds).binary


def test_udacity_ab_data_roles():
    ds = load_file(shared_file("udacity_ab_data", "ab_data.csv.gz"))
    assert (ds.roles.unit, ds.roles.time, ds.roles.variant) == ("user_id", "timestamp", "group")
    assert "landing_page" in ds.roles.dimensions and "converted" in ds.roles.metrics


def test_ecommerce_events_long_is_an_event_log_with_date_time():
    ds = load_file(shared_file("ecommerce_funnel", "DERIVED_events_long.csv.gz"))
    assert ds.shape == "event_log"
    assert (ds.roles.unit, ds.roles.time, ds.roles.event) == ("user_id", "date", "event")
    assert set(ds.roles.dimensions) == {"device", "sex"}


def test_epoch_milliseconds_and_text_timestamps_are_read_as_time(make_dataset):
    frame = pd.DataFrame({"uid": ["a", "b", "a"], "ts": [1_700_000_000_000, 1_700_000_100_000, 1_700_000_200_000],
                          "action": ["x", "y", "x"]})
    ds = make_dataset(frame)
    assert ds.roles.time == "ts" and ds.roles.time_unit == "epoch_ms"
    first = ds.query(f"SELECT min({ds.time_sql()}) FROM events")[0][0]
    assert str(first) == "2023-11-14 22:13:20"
    texts = [f"2026-01-{d:02d} 10:00" for d in range(1, 21)] + ["not a date"]
    text = make_dataset(pd.DataFrame({"uid": ["a", "b", "c"] * 7, "ts": texts, "action": ["x", "y", "z"] * 7}),
                        fmt="csv")
    assert text.roles.time == "ts" and text.roles.time_unit == "text"


def test_high_cardinality_text_is_not_a_dimension(make_dataset):
    n = 50_000
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "comment": [f"text {i}" for i in range(n)],
                          "plan": ["free", "plus"] * (n // 2), "spend": [float(i % 7) for i in range(n)]})
    ds = make_dataset(frame)
    assert "comment" not in ds.roles.dimensions and "plan" in ds.roles.dimensions
    from insights import profile
    codes = [w.code for w in profile(ds).warnings]
    assert "high_cardinality" in codes


def test_override_changes_roles_and_shape(make_dataset):
    frame = pd.DataFrame({"who": ["a", "b"], "when": ["2026-01-01", "2026-01-02"], "what": ["x", "y"]})
    ds = make_dataset(frame, fmt="csv")
    changed = ds.with_roles(unit="who", time="when", event="what")
    assert changed.shape == "event_log" and changed.roles.time_unit in ("native", "text")
    with pytest.raises(InsightsError, match="no column named"):
        ds.with_roles(unit="nope")


def test_missing_unit_id_is_one_clear_sentence(make_dataset):
    ds = make_dataset(pd.DataFrame({"colour": ["red", "blue"], "amount": [1.0, 2.0]}))
    assert ds.roles.unit is None
    with pytest.raises(InsightsError, match="No unit id column was found"):
        build_units_sql(ds, [parse_metric("amount", ds)])
