"""Seeded generator of the bundled "Shoply" product event log.

The log has one row per event of a fictional shop app over six weeks
(2026-09-07 to 2026-10-18). Users sign up, come back in sessions some days
apart and, within a session, move through view_item -> add_to_cart ->
begin_checkout -> purchase. A few effects are planted on purpose (an A/B test
of a one-page checkout, a weak acquisition channel, a country with bigger
orders, a broken tablet step, a search launch, data-quality faults); they are
listed with their true sizes in ``sample_data/README.md``.

Everything is vectorised with numpy so that a million users (about ten million
events) are generated in seconds::

    python sample_data/generate.py --users 1000000 --out /tmp/big.parquet
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DEFAULT_USERS = 50_000
DEFAULT_SEED = 7
DEFAULT_OUT = Path(__file__).with_name("shop_events.parquet")

WINDOW_START = np.datetime64("2026-09-07T00:00:00", "s")
WINDOW_DAYS = 42
SEARCH_LAUNCH_DAY = 14  # 2026-09-21, "smart search" ships
EXPERIMENT_START_DAY = 21  # 2026-09-28, one-page checkout A/B test starts

EVENTS = (
    "session_start",
    "experiment_exposure",
    "search",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "purchase",
)
SESSION_START, EXPOSURE, SEARCH, VIEW_ITEM, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE = range(len(EVENTS))

COUNTRIES = ("US", "GB", "DE", "FR", "BR", "IN", "CA", "ES")
COUNTRY_SHARES = (0.36, 0.12, 0.11, 0.09, 0.11, 0.10, 0.07, 0.04)
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_SHARES = (0.34, 0.56, 0.10)
CHANNELS = ("organic", "paid_search", "paid_social", "email", "referral")
CHANNEL_SHARES = (0.34, 0.25, 0.21, 0.12, 0.08)
PLANS = ("free", "plus")
PLAN_SHARES = (0.82, 0.18)
VARIANTS = ("control", "treatment")

# Share of sessions starting in each hour of the day (local evening peak).
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 7, 6, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4], dtype=float)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Parameters of the simulated behaviour, including the planted effects."""

    mean_sessions: float = 3.2
    """Mean of the geometric number of sessions per user (before the window cuts them)."""
    mean_days_between_sessions: float = 4.0
    """Mean gap, in whole days, between two sessions of a user."""
    mean_extra_views: float = 1.1
    """Each session has 1 + Poisson(this) view_item events."""
    search_share_before: float = 0.24
    """Share of sessions with a search before the smart-search launch."""
    search_share_after: float = 0.36
    """Share of sessions with a search from the launch on (planted effect 5)."""
    cart_rate_browse: float = 0.115
    """add_to_cart probability of a session without search."""
    cart_rate_search_before: float = 0.16
    """add_to_cart probability of a search session before the launch."""
    cart_rate_search_after: float = 0.24
    """add_to_cart probability of a search session from the launch on (planted effect 5)."""
    paid_social_cart_factor: float = 0.55
    """Multiplier on add_to_cart for paid_social users (planted effect 2)."""
    checkout_rate: float = 0.56
    """begin_checkout probability after add_to_cart."""
    tablet_checkout_rate: float = 0.27
    """begin_checkout probability after add_to_cart on tablet (planted effect 4)."""
    purchase_rate: float = 0.60
    """purchase probability after begin_checkout."""
    treatment_purchase_lift_mobile: float = 0.25
    """Relative lift of purchase after begin_checkout, treatment on mobile after exposure (effect 1)."""
    treatment_purchase_lift_other: float = 0.05
    """The same lift on desktop and tablet (planted effect 1)."""
    order_log_mean: float = 3.63
    """Order value is lognormal(order_log_mean, order_log_sd): mean about 45."""
    order_log_sd: float = 0.6
    """Spread of the order value on the log scale."""
    de_order_factor: float = 1.30
    """Order value multiplier in Germany (planted effect 3)."""
    multi_variant_share: float = 0.002
    """Share of exposed users whose last session is logged with the other variant (effect 6)."""
    duplicate_share: float = 0.0006
    """Share of events written twice (exact duplicate rows, effect 6)."""


def generate_table(n_users: int, seed: int, behaviour: Behaviour | None = None) -> pa.Table:
    """Generate the event log as an Arrow table sorted by user_id and event_time."""
    if n_users < 1:
        raise ValueError("n_users must be at least 1")
    b = behaviour or Behaviour()
    # One independent stream per stage, so that changing how sessions or events
    # are drawn does not reshuffle who the users are.
    user_rng, session_rng, event_rng, table_rng = np.random.default_rng(seed).spawn(4)

    users = _draw_users(user_rng, n_users)
    sessions = _draw_sessions(session_rng, users, b)
    events = _lay_out_events(event_rng, users, sessions, b)
    return _to_table(table_rng, users, events, b)


def generate_events(n_users: int, seed: int) -> pd.DataFrame:
    """Generate the event log as a pandas DataFrame (see ``generate_table``)."""
    return generate_table(n_users, seed).to_pandas()


def _draw_users(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    # Signups are front-loaded (launch buzz fading) with quieter weekends.
    day = np.arange(WINDOW_DAYS)
    day_weights = np.exp(-day / 24.0) * np.where(day % 7 >= 5, 0.8, 1.0)
    signup_day = rng.choice(WINDOW_DAYS, size=n, p=day_weights / day_weights.sum())
    signup_second = _draw_time_of_day(rng, n)
    order = np.argsort(signup_day * 86_400 + signup_second, kind="stable")  # ids follow signups
    return {
        "signup_day": signup_day[order],
        "signup_second": signup_second[order],
        "country": rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARES),
        "device": rng.choice(len(DEVICES), size=n, p=DEVICE_SHARES),
        "channel": rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARES),
        "plan": rng.choice(len(PLANS), size=n, p=PLAN_SHARES),
        "variant": (rng.random(n) < 0.5).astype(np.int8),
    }


def _draw_time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hour * 3600 + rng.integers(0, 3600, size=n)


def _group_starts(group_of_row: np.ndarray) -> np.ndarray:
    """For rows sorted by group, a boolean mask of each group's first row."""
    first = np.ones(group_of_row.size, dtype=bool)
    first[1:] = group_of_row[1:] != group_of_row[:-1]
    return first


def _grouped_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every row where ``first`` is True."""
    total = np.cumsum(values)
    start_index = np.maximum.accumulate(np.where(first, np.arange(values.size), 0))
    return total - total[start_index] + values[start_index]


def _draw_sessions(rng: np.random.Generator, users: dict[str, np.ndarray], b: Behaviour) -> dict[str, np.ndarray]:
    n = users["signup_day"].size
    n_sessions = rng.geometric(1.0 / b.mean_sessions, size=n)
    user = np.repeat(np.arange(n), n_sessions)
    first = _group_starts(user)
    gap_days = rng.geometric(1.0 / b.mean_days_between_sessions, size=user.size)
    gap_days[first] = 0
    day = users["signup_day"][user] + _grouped_cumsum(gap_days, first)
    second = np.where(first, users["signup_second"][user], _draw_time_of_day(rng, user.size))

    keep = day < WINDOW_DAYS
    user, day, second = user[keep], day[keep], second[keep]

    # Exposure: the first session of a user on or after the experiment start.
    post = day >= EXPERIMENT_START_DAY
    post_user = user[post]
    exposure = np.zeros(user.size, dtype=bool)
    exposure[np.flatnonzero(post)[_group_starts(post_user)]] = True

    # Assignment bug: for a few exposed users, the last session is logged with
    # the other variant, starting with a second exposure event.
    last = np.ones(user.size, dtype=bool)
    last[:-1] = user[:-1] != user[1:]
    exposed_users = user[exposure]
    buggy = rng.random(exposed_users.size) < b.multi_variant_share
    buggy_user = np.zeros(n, dtype=bool)
    buggy_user[exposed_users[buggy]] = True
    bug = last & buggy_user[user]
    return {
        "user": user,
        "day": day,
        "second": second,
        "post_experiment": post,
        "exposure": exposure,
        "bug": bug,
    }


def _lay_out_events(
    rng: np.random.Generator,
    users: dict[str, np.ndarray],
    sessions: dict[str, np.ndarray],
    b: Behaviour,
) -> dict[str, np.ndarray]:
    user = sessions["user"]
    n_sessions = user.size
    device = users["device"][user]
    after_launch = sessions["day"] >= SEARCH_LAUNCH_DAY

    has_search = rng.random(n_sessions) < np.where(after_launch, b.search_share_after, b.search_share_before)
    n_views = 1 + rng.poisson(b.mean_extra_views, size=n_sessions)

    cart_rate = np.where(
        has_search,
        np.where(after_launch, b.cart_rate_search_after, b.cart_rate_search_before),
        b.cart_rate_browse,
    )
    cart_rate = cart_rate * np.where(
        users["channel"][user] == CHANNELS.index("paid_social"), b.paid_social_cart_factor, 1.0
    )
    checkout_rate = np.where(device == DEVICES.index("tablet"), b.tablet_checkout_rate, b.checkout_rate)
    treated = sessions["post_experiment"] & (users["variant"][user] == 1)
    lift = np.where(
        device == DEVICES.index("mobile"),
        b.treatment_purchase_lift_mobile,
        b.treatment_purchase_lift_other,
    )
    purchase_rate = b.purchase_rate * (1.0 + np.where(treated, lift, 0.0))

    has_cart = rng.random(n_sessions) < cart_rate
    has_checkout = has_cart & (rng.random(n_sessions) < checkout_rate)
    has_purchase = has_checkout & (rng.random(n_sessions) < purchase_rate)

    # Each session is laid out as: session_start, [exposure], [bug exposure],
    # [search], view_item x n, [add_to_cart, [begin_checkout, [purchase]]].
    exposure = sessions["exposure"]
    bug = sessions["bug"]
    parts = [
        np.ones(n_sessions, dtype=np.int64),
        exposure.astype(np.int64),
        bug.astype(np.int64),
        has_search.astype(np.int64),
        n_views.astype(np.int64),
        has_cart.astype(np.int64),
        has_checkout.astype(np.int64),
        has_purchase.astype(np.int64),
    ]
    kinds = (SESSION_START, EXPOSURE, EXPOSURE, SEARCH, VIEW_ITEM, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE)
    bug_part = 2
    size = np.add.reduce(parts)
    n_events = int(size.sum())

    event = np.empty(n_events, dtype=np.int8)
    flipped = np.zeros(n_events, dtype=bool)
    position = np.cumsum(size) - size  # next free row of every session
    for part, (kind, count) in enumerate(zip(kinds, parts, strict=True)):
        if kind == VIEW_ITEM:
            rows = np.repeat(position, count) + _ranks_within(count)
        else:
            rows = position[count > 0]
        event[rows] = kind
        flipped[rows] = part == bug_part
        position = position + count

    session_of_event = np.repeat(np.arange(n_sessions), size)
    first = _group_starts(session_of_event)
    flipped = _grouped_cumsum(flipped.astype(np.int64), first) > 0

    gap = _draw_gaps(rng, event)
    gap[first] = 0
    offset = _grouped_cumsum(gap, first)
    seconds = sessions["day"][session_of_event] * 86_400 + sessions["second"][session_of_event] + offset
    keep = seconds < WINDOW_DAYS * 86_400  # the export stops at the end of the window
    return {
        "user": user[session_of_event][keep],
        "seconds": seconds[keep],
        "event": event[keep],
        "flipped": flipped[keep],
    }


def _ranks_within(count: np.ndarray) -> np.ndarray:
    """0, 1, ..., count-1 for every group, concatenated."""
    total = int(count.sum())
    starts = np.repeat(np.cumsum(count) - count, count)
    return np.arange(total) - starts


def _draw_gaps(rng: np.random.Generator, event: np.ndarray) -> np.ndarray:
    """Seconds since the previous event of the session: a minimum plus an exponential wait."""
    min_gap = np.array([0, 1, 3, 3, 5, 10, 20], dtype=float)  # indexed like EVENTS
    mean_gap = np.array([0, 1, 20, 45, 30, 60, 120], dtype=float)
    wait = rng.exponential(1.0, size=event.size) * (mean_gap - min_gap)[event]
    return (min_gap[event] + np.round(wait)).astype(np.int64)


def _to_table(
    rng: np.random.Generator,
    users: dict[str, np.ndarray],
    events: dict[str, np.ndarray],
    b: Behaviour,
) -> pa.Table:
    user = events["user"]
    event = events["event"]
    seconds = events["seconds"]

    is_purchase = event == PURCHASE
    order_value = rng.lognormal(b.order_log_mean, b.order_log_sd, size=int(is_purchase.sum()))
    order_value *= np.where(users["country"][user[is_purchase]] == COUNTRIES.index("DE"), b.de_order_factor, 1.0)
    revenue = np.full(event.size, np.nan)
    revenue[is_purchase] = np.maximum(np.round(order_value, 2), 0.01)

    variant = users["variant"][user] ^ events["flipped"].astype(np.int8)

    n_duplicates = int(round(event.size * b.duplicate_share))
    duplicate_rows = rng.choice(event.size, size=n_duplicates, replace=False)
    rows = np.concatenate([np.arange(event.size), duplicate_rows])
    sort_key = user[rows].astype(np.int64) * (WINDOW_DAYS * 86_400) + seconds[rows]
    rows = rows[np.argsort(sort_key, kind="stable")]  # nearly sorted already: fast

    user, event, seconds = user[rows], event[rows], seconds[rows]
    revenue, variant = revenue[rows], variant[rows]

    n_users = users["signup_day"].size
    width = max(7, len(str(n_users - 1)))
    user_ids = pa.array(np.char.add("u", np.char.zfill(np.arange(n_users).astype(str), width)))
    signup_monday = WINDOW_START.astype("datetime64[D]") + (users["signup_day"] // 7) * 7

    def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
        dictionary = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), values)
        return pc.cast(dictionary, pa.string())

    columns = {
        "user_id": pc.take(user_ids, pa.array(user)),
        "event_time": pa.array(WINDOW_START + seconds.astype("timedelta64[s]"), pa.timestamp("us")),
        "event": labels(EVENTS, event),
        "revenue": pa.array(revenue, pa.float64(), from_pandas=True),
        "variant": labels(VARIANTS, variant),
        "country": labels(COUNTRIES, users["country"][user]),
        "device": labels(DEVICES, users["device"][user]),
        "channel": labels(CHANNELS, users["channel"][user]),
        "plan": labels(PLANS, users["plan"][user]),
        "signup_week": pa.array(signup_monday[user], pa.date32()),
    }
    return pa.table(columns)


def write_parquet(table: pa.Table, out: Path) -> None:
    """Write the table as zstd-compressed Parquet with dictionary-encoded strings."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        out,
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        row_group_size=1_000_000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="number of users")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output Parquet file")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")

    started = time.perf_counter()
    table = generate_table(args.users, args.seed)
    write_parquet(table, args.out)
    elapsed = time.perf_counter() - started
    print(f"wrote {table.num_rows:,} events for {args.users:,} users to {args.out} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
