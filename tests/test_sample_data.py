"""The bundled Shoply sample: the generator is deterministic and well-formed, and the committed file holds
the planted effects with the sizes documented in sample_data/README.md (measured here by DuckDB SQL that
does not use the generator), and no effect on the dimensions that are meant to be null."""

from __future__ import annotations

import re
import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.stats import chi2_contingency
from statsmodels.stats.proportion import proportions_ztest

from sample_data.generate import generate_events, generate_table, main
from tests.conftest import ROOT, SAMPLE

README = ROOT / "sample_data" / "README.md"

EXPECTED_SCHEMA = [
    ("user_id", "VARCHAR"),
    ("event_time", "TIMESTAMP"),
    ("event", "VARCHAR"),
    ("revenue", "DOUBLE"),
    ("variant", "VARCHAR"),
    ("country", "VARCHAR"),
    ("device", "VARCHAR"),
    ("channel", "VARCHAR"),
    ("plan", "VARCHAR"),
    ("signup_week", "DATE"),
]
DOMAINS = {
    "event": {"session_start", "view_item", "search", "add_to_cart", "begin_checkout", "purchase",
              "experiment_exposure"},
    "variant": {"control", "treatment"},
    "country": {"US", "GB", "DE", "FR", "BR", "IN", "CA", "ES"},
    "device": {"desktop", "mobile", "tablet"},
    "channel": {"organic", "paid_search", "paid_social", "email", "referral"},
    "plan": {"free", "plus"},
}
USER_PROPERTIES = ["country", "device", "channel", "plan", "signup_week"]

# The measurement SQL, verbatim from sample_data/README.md (a test below keeps the two in step).
EXPERIMENT_SQL = """
WITH multi AS (
    SELECT user_id FROM events GROUP BY user_id HAVING count(DISTINCT variant) > 1
), exposed AS (
    SELECT user_id, min(event_time) AS exposed_at
    FROM events
    WHERE event = 'experiment_exposure' AND user_id NOT IN (SELECT user_id FROM multi)
    GROUP BY user_id
), units AS (
    SELECT x.user_id, any_value(e.variant) AS variant, any_value(e.device) AS device,
           max((e.event = 'begin_checkout' AND e.event_time >= x.exposed_at)::INT) AS checked_out,
           max((e.event = 'purchase' AND e.event_time >= x.exposed_at)::INT) AS purchased
    FROM exposed AS x JOIN events AS e USING (user_id)
    GROUP BY x.user_id
)
SELECT coalesce(device, 'all') AS device, variant, count(*) AS users, sum(purchased) AS purchasers,
       avg(purchased) AS purchase_rate, sum(purchased) / sum(checked_out) AS checkout_to_purchase
FROM units
GROUP BY ROLLUP (device), variant
ORDER BY device, variant
"""
CHANNEL_SQL = """
WITH units AS (
    SELECT user_id, any_value(channel) AS channel, max((event = 'purchase')::INT) AS purchased
    FROM events GROUP BY user_id
)
SELECT channel = 'paid_social' AS paid_social, count(*) AS users, avg(purchased) AS purchase_rate
FROM units GROUP BY 1 ORDER BY 1
"""
ORDER_VALUE_SQL = """
SELECT country = 'DE' AS germany, count(*) AS purchases, avg(revenue) AS mean_order_value
FROM events WHERE event = 'purchase' GROUP BY 1 ORDER BY 1
"""
TABLET_SQL = """
WITH units AS (
    SELECT user_id, any_value(device) AS device, max((event = 'add_to_cart')::INT) AS carted,
           max((event = 'begin_checkout')::INT) AS checked_out
    FROM events GROUP BY user_id
)
SELECT device, sum(carted) AS cart_users, sum(checked_out) AS checkout_users,
       sum(checked_out) / sum(carted) AS cart_to_checkout
FROM units GROUP BY device ORDER BY device
"""
LAUNCH_SQL = """
WITH numbered AS (
    SELECT *, count(*) FILTER (WHERE event = 'session_start')
              OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS session_no
    FROM (SELECT DISTINCT * FROM events)
), sessions AS (
    SELECT user_id, session_no, min(event_time) AS started_at,
           bool_or(event = 'search') AS searched, bool_or(event = 'add_to_cart') AS carted
    FROM numbered GROUP BY user_id, session_no
)
SELECT started_at >= TIMESTAMP '2026-09-21' AS after_launch, count(*) AS sessions,
       avg(searched::INT) AS search_share,
       avg(carted::INT) FILTER (WHERE searched) AS search_session_cart_rate,
       avg(carted::INT) FILTER (WHERE NOT searched) AS other_session_cart_rate
FROM sessions GROUP BY 1 ORDER BY 1
"""
DATA_QUALITY_SQL = """
SELECT
    (SELECT count(*) FROM (SELECT user_id FROM events GROUP BY user_id HAVING count(DISTINCT variant) > 1))
        AS multi_variant_users,
    (SELECT count(DISTINCT user_id) FROM events WHERE event = 'experiment_exposure') AS exposed_users,
    (SELECT count(*) FROM events) - (SELECT count(*) FROM (SELECT DISTINCT * FROM events)) AS duplicate_rows
"""
EVER_PURCHASED_BY_SQL = """
WITH units AS (
    SELECT user_id, any_value({dim}) AS value, max((event = 'purchase')::INT) AS purchased
    FROM events GROUP BY user_id
)
SELECT value, sum(purchased)::BIGINT AS purchasers, (count(*) - sum(purchased))::BIGINT AS others
FROM units WHERE {keep} GROUP BY value ORDER BY value
"""

RATE_TOL = 5e-4  # documented rates are rounded to 0.1 percentage point


def _connect(source) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if isinstance(source, pd.DataFrame):
        con.register("events", source)
    else:
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{source}')")
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate_events(2_000, 11)


@pytest.fixture(scope="module")
def sample() -> duckdb.DuckDBPyConnection:
    return _connect(SAMPLE)


# --- the generator ----------------------------------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed(small):
    pd.testing.assert_frame_equal(small, generate_events(2_000, 11))
    assert not small.equals(generate_events(2_000, 12))


def test_committed_file_is_the_default_generator_output():
    committed = pq.read_table(SAMPLE)
    regenerated = generate_table(50_000, 7)
    assert committed.cast(regenerated.schema).equals(regenerated)


@pytest.mark.parametrize("source", ["small", "committed"])
def test_schema_names_and_types_are_exact(source, small):
    con = _connect(small if source == "small" else SAMPLE)
    described = con.execute("DESCRIBE SELECT * FROM events").fetchall()
    assert [(name, kind) for name, kind, *_ in described] == EXPECTED_SCHEMA


@pytest.mark.parametrize("source", ["small", "committed"])
def test_values_are_in_their_domains_and_in_the_window(source, small):
    con = _connect(small if source == "small" else SAMPLE)
    for column, allowed in DOMAINS.items():
        seen = {v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM events").fetchall()}
        assert seen <= allowed, column
    assert con.execute("SELECT count(*) FROM events WHERE NOT regexp_full_match(user_id, 'u[0-9]{7}')").fetchone() \
        == (0,)
    low, high, nulls = con.execute(
        "SELECT min(event_time), max(event_time), count(*) FILTER (WHERE event_time IS NULL) FROM events"
    ).fetchone()
    assert pd.Timestamp("2026-09-07") <= low and high <= pd.Timestamp("2026-10-18 23:59:59") and nulls == 0
    mondays = con.execute("SELECT bool_and(isodow(signup_week) = 1) FROM events").fetchone()[0]
    assert mondays


@pytest.mark.parametrize("source", ["small", "committed"])
def test_user_properties_are_constant_and_signup_week_is_the_first_session_week(source, small):
    con = _connect(small if source == "small" else SAMPLE)
    varying = " + ".join(f"(count(DISTINCT {c}) > 1)::INT" for c in USER_PROPERTIES)
    assert con.execute(f"SELECT max(v) FROM (SELECT {varying} AS v FROM events GROUP BY user_id)").fetchone() == (0,)
    wrong_week = con.execute(
        "SELECT count(*) FROM (SELECT user_id, any_value(signup_week) AS week, min(event_time) AS first_seen "
        "FROM events GROUP BY user_id) WHERE date_trunc('week', first_seen)::DATE <> week"
    ).fetchone()
    assert wrong_week == (0,)


@pytest.mark.parametrize("source", ["small", "committed"])
def test_revenue_is_positive_on_purchases_and_null_elsewhere(source, small):
    con = _connect(small if source == "small" else SAMPLE)
    bad = con.execute(
        "SELECT count(*) FILTER (WHERE event = 'purchase' AND (revenue IS NULL OR revenue <= 0)), "
        "count(*) FILTER (WHERE event <> 'purchase' AND revenue IS NOT NULL), "
        "count(*) FILTER (WHERE event = 'purchase') FROM events"
    ).fetchone()
    assert bad[:2] == (0, 0) and bad[2] > 0


@pytest.mark.parametrize("source", ["small", "committed"])
def test_funnel_user_counts_decrease_step_by_step(source, small):
    con = _connect(small if source == "small" else SAMPLE)
    steps = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    counts = [
        con.execute("SELECT count(DISTINCT user_id) FROM events WHERE event = ?", [step]).fetchone()[0]
        for step in steps
    ]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0


def test_exposure_comes_once_at_the_first_session_from_the_start(sample):
    # Per user (exact duplicates dropped): own-variant exposures, time of the first one, and the first
    # session_start on or after 2026-09-28.
    rows = sample.execute("""
        WITH d AS (SELECT DISTINCT * FROM events), multi AS (
            SELECT user_id FROM d GROUP BY user_id HAVING count(DISTINCT variant) > 1
        )
        SELECT user_id IN (SELECT user_id FROM multi) AS multi,
               count(*) FILTER (WHERE event = 'experiment_exposure') AS exposures,
               min(event_time) FILTER (WHERE event = 'experiment_exposure') AS exposed_at,
               min(event_time) FILTER (WHERE event = 'session_start' AND event_time >= TIMESTAMP '2026-09-28')
                   AS first_session_after
        FROM d GROUP BY user_id
    """).df()
    single = rows[~rows["multi"]]
    assert single["exposures"].isin([0, 1]).all()
    assert (rows.loc[rows["multi"], "exposures"] == 2).all()
    assert (single["exposures"] == 1).eq(single["first_session_after"].notna()).all()
    exposed = rows[rows["exposures"] > 0]
    assert (exposed["exposed_at"] - exposed["first_session_after"] == pd.Timedelta(seconds=1)).all()


def test_committed_file_is_sorted_and_small(sample):
    order = pq.read_table(SAMPLE, columns=["user_id", "event_time"]).to_pandas()
    assert pd.MultiIndex.from_frame(order).is_monotonic_increasing
    assert SAMPLE.stat().st_size < 6_000_000
    assert sample.execute("SELECT count(*), count(DISTINCT user_id) FROM events").fetchone() == (537_243, 50_000)


def test_cli_writes_parquet_and_rejects_bad_sizes(tmp_path):
    out = tmp_path / "events.parquet"
    script = ROOT / "sample_data" / "generate.py"
    done = subprocess.run([sys.executable, str(script), "--users", "300", "--seed", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).equals(generate_table(300, 3))
    with pytest.raises(SystemExit) as exited:
        main(["--users", "0", "--out", str(tmp_path / "never.parquet")])
    assert exited.value.code == 2 and not (tmp_path / "never.parquet").exists()


# --- planted effects on the committed file ----------------------------------------------------------------


def test_effect_1_treatment_lifts_purchase_after_exposure_mostly_on_mobile(sample):
    by = {(r["device"], r["variant"]): r for r in _rows(sample, EXPERIMENT_SQL)}
    control, treatment = by[("all", "control")], by[("all", "treatment")]
    assert (control["users"], control["purchasers"]) == (12_573, 1_374)
    assert (treatment["users"], treatment["purchasers"]) == (12_669, 1_555)
    assert control["purchase_rate"] == pytest.approx(0.1093, abs=RATE_TOL)
    assert treatment["purchase_rate"] == pytest.approx(0.1227, abs=RATE_TOL)
    assert treatment["purchase_rate"] / control["purchase_rate"] - 1 == pytest.approx(0.123, abs=1e-3)
    assert control["checkout_to_purchase"] == pytest.approx(0.620, abs=RATE_TOL)
    assert treatment["checkout_to_purchase"] == pytest.approx(0.714, abs=RATE_TOL)
    _, p_all = proportions_ztest([control["purchasers"], treatment["purchasers"]],
                                 [control["users"], treatment["users"]])
    assert p_all < 0.01

    mobile_c, mobile_t = by[("mobile", "control")], by[("mobile", "treatment")]
    assert mobile_c["purchase_rate"] == pytest.approx(0.1138, abs=RATE_TOL)
    assert mobile_t["purchase_rate"] == pytest.approx(0.1406, abs=RATE_TOL)
    assert mobile_t["purchase_rate"] / mobile_c["purchase_rate"] - 1 == pytest.approx(0.235, abs=1e-3)
    _, p_mobile = proportions_ztest([mobile_c["purchasers"], mobile_t["purchasers"]],
                                    [mobile_c["users"], mobile_t["users"]])
    assert p_mobile < 1e-4
    for device, lift in [("desktop", -0.047), ("tablet", 0.084)]:
        c, t = by[(device, "control")], by[(device, "treatment")]
        assert t["purchase_rate"] / c["purchase_rate"] - 1 == pytest.approx(lift, abs=1e-3)
        assert proportions_ztest([c["purchasers"], t["purchasers"]], [c["users"], t["users"]])[1] > 0.05


def test_effect_2_paid_social_purchases_at_sixty_percent_of_the_others(sample):
    other, paid_social = _rows(sample, CHANNEL_SQL)
    assert (paid_social["paid_social"], paid_social["users"], other["users"]) == (True, 10_392, 39_608)
    assert paid_social["purchase_rate"] == pytest.approx(0.0760, abs=RATE_TOL)
    assert other["purchase_rate"] == pytest.approx(0.1264, abs=RATE_TOL)
    assert paid_social["purchase_rate"] / other["purchase_rate"] == pytest.approx(0.60, abs=0.005)


def test_effect_3_german_orders_are_a_quarter_bigger(sample):
    other, germany = _rows(sample, ORDER_VALUE_SQL)
    assert (germany["purchases"], other["purchases"]) == (711, 5_571)
    assert germany["mean_order_value"] == pytest.approx(57.08, abs=0.005)
    assert other["mean_order_value"] == pytest.approx(45.21, abs=0.005)
    assert germany["mean_order_value"] / other["mean_order_value"] - 1 == pytest.approx(0.263, abs=1e-3)


def test_effect_4_tablet_cart_to_checkout_is_about_half(sample):
    by = {r["device"]: r for r in _rows(sample, TABLET_SQL)}
    assert (by["tablet"]["checkout_users"], by["tablet"]["cart_users"]) == (447, 1_525)
    assert by["tablet"]["cart_to_checkout"] == pytest.approx(0.293, abs=RATE_TOL)
    assert by["desktop"]["cart_to_checkout"] == pytest.approx(0.617, abs=RATE_TOL)
    assert by["mobile"]["cart_to_checkout"] == pytest.approx(0.625, abs=RATE_TOL)
    others = (by["desktop"]["checkout_users"] + by["mobile"]["checkout_users"]) / (
        by["desktop"]["cart_users"] + by["mobile"]["cart_users"])
    assert by["tablet"]["cart_to_checkout"] / others == pytest.approx(0.47, abs=0.005)


def test_effect_5_smart_search_raises_search_share_and_search_cart_rate(sample):
    before, after = _rows(sample, LAUNCH_SQL)
    assert (before["after_launch"], before["sessions"], after["sessions"]) == (False, 51_341, 88_161)
    assert before["search_share"] == pytest.approx(0.242, abs=RATE_TOL)
    assert after["search_share"] == pytest.approx(0.361, abs=RATE_TOL)
    assert before["search_session_cart_rate"] == pytest.approx(0.149, abs=RATE_TOL)
    assert after["search_session_cart_rate"] == pytest.approx(0.225, abs=RATE_TOL)
    assert after["search_share"] / before["search_share"] - 1 == pytest.approx(0.49, abs=0.01)
    assert after["search_session_cart_rate"] / before["search_session_cart_rate"] - 1 == pytest.approx(0.50, abs=0.01)


def test_effect_6_assignment_bug_and_duplicate_rows(sample):
    (row,) = _rows(sample, DATA_QUALITY_SQL)
    assert row == {"multi_variant_users": 54, "exposed_users": 25_296, "duplicate_rows": 322}
    assert row["multi_variant_users"] / row["exposed_users"] == pytest.approx(0.002, abs=0.0005)


@pytest.mark.parametrize(("dim", "excluded", "documented_p"), [
    ("plan", [], 0.24),
    ("country", [], 0.37),
    ("channel", ["paid_social"], 0.82),
])
def test_null_dimensions_show_no_purchase_rate_difference(sample, dim, excluded, documented_p):
    keep = " AND ".join(f"value <> '{v}'" for v in excluded) or "TRUE"
    table = sample.execute(EVER_PURCHASED_BY_SQL.format(dim=dim, keep=keep)).fetchall()
    assert len(table) >= 2
    _, p_value, _, _ = chi2_contingency([[a, b] for _, a, b in table], correction=False)
    assert p_value > 0.05
    assert p_value == pytest.approx(documented_p, abs=0.005)


def test_readme_shows_the_sql_the_tests_run():
    def squash(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    readme = squash(README.read_text())
    for sql in [EXPERIMENT_SQL, CHANNEL_SQL, ORDER_VALUE_SQL, TABLET_SQL, LAUNCH_SQL, DATA_QUALITY_SQL]:
        assert squash(sql) in readme


def test_initiative_docs_have_a_launch_date_goals_metrics_and_outcome():
    docs = sorted((ROOT / "sample_data" / "initiatives").glob("*.md"))
    assert len(docs) == 4
    for doc in docs:
        text = doc.read_text()
        assert re.search(r"^Launch date: \d{4}-\d{2}-\d{2}$", text, re.MULTILINE), doc.name
        for heading in ("## Goal", "## Metrics", "## Outcome"):
            assert heading in text, (doc.name, heading)
