"""The experiment statistics SQL returns exactly the sufficient statistics numpy computes on raw per-unit values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from insights import parse_metric
from insights.experiment_sql import build_stats_sql


def _event_log(seed: int, n_units: int = 300) -> pd.DataFrame:
    """Random event log: exposure, view, buy (with revenue); a few units in two variants or with no variant."""
    rng = np.random.default_rng(seed)
    rows = []
    start = dt.datetime(2026, 3, 1)
    for u in range(n_units):
        variant = rng.choice(["control", "treat_a", "treat_b"])
        country = rng.choice(["US", "DE", "FR", None])
        n_events = int(rng.integers(1, 12))
        secs = np.sort(rng.choice(14 * 86400, size=n_events, replace=False))
        exposed_idx = int(rng.integers(0, n_events)) if rng.random() < 0.85 else -1
        for k, sec in enumerate(secs):
            v = variant
            if u % 50 == 7 and k == n_events - 1:
                v = "treat_a" if variant != "treat_a" else "control"  # seen in two variants
            if u % 61 == 3:
                v = None  # no variant at all
            event = "exposure" if k == exposed_idx else rng.choice(["view", "buy"], p=[0.7, 0.3])
            revenue = float(np.round(rng.lognormal(3, 1), 2)) if event == "buy" else None
            rows.append((f"u{u}", start + dt.timedelta(seconds=int(sec)), event, revenue, v,
                         country if k == 0 else rng.choice(["US", "DE"])))
    return pd.DataFrame(rows, columns=["user_id", "ts", "event", "revenue", "variant", "country"])


def _per_unit(frame: pd.DataFrame) -> pd.DataFrame:
    """Independent pandas route: per exposed unit, its first-touch variant and country, post and pre metrics."""
    f = frame.sort_values("ts")
    exposed = f[f.event == "exposure"].groupby("user_id").ts.min().rename("exposed_at")
    f = f.join(exposed, on="user_id", how="inner")
    first = f.groupby("user_id").first()  # first non-NULL value per unit, as DuckDB's arg_min
    units = pd.DataFrame({
        "variant": first.variant,
        "n_variants": f.groupby("user_id").variant.nunique(),
        "country": first.country,
        "day": first.exposed_at.dt.date,
    })
    for period, mask in (("y", f.ts >= f.exposed_at), ("x", f.ts < f.exposed_at)):
        part = f[mask]
        g = part.groupby("user_id")
        units[f"{period}0"] = g.event.agg(lambda e: float((e == "buy").any())).reindex(units.index).fillna(0.0)
        units[f"{period}1"] = g.event.agg(lambda e: float((e == "view").sum())).reindex(units.index).fillna(0.0)
        units[f"{period}2"] = g.revenue.sum().reindex(units.index).fillna(0.0)
        units[f"{period}3"] = g.event.agg(lambda e: float((e == "exposure").sum())).reindex(units.index).fillna(0.0)
    return units


def _stats(values: pd.DataFrame, i: int) -> tuple[float, ...]:
    y, x = values[f"y{i}"].to_numpy(), values[f"x{i}"].to_numpy()
    return (len(y), y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())


@pytest.mark.parametrize(("cap", "packed"), [(None, False), (0.9, False), (None, True), (0.9, True)])
def test_sufficient_statistics_equal_numpy_on_raw_units(make_dataset, cap: float | None, packed: bool) -> None:
    # packed=True: the form run on DuckDB, six event counts (post and pre) summed four to an aggregate
    frame = _event_log(11)
    ds = make_dataset(frame, unit="user_id", time="ts", event="event", variant="variant", dimensions=("country",))
    metrics = [parse_metric(m, ds) for m in ("buy", "count:view", "sum:revenue", "count:exposure")]
    q = build_stats_sql(ds, metrics, exposure_event="exposure", segment="country", covariate=True,
                        cap_percentile=cap, packed=packed)
    assert ("__packed_1" in q.sql) == packed
    assert q.has_covariate and q.has_day
    got = ds.query_df(q.sql, q.params)

    units = _per_unit(frame)
    status = np.where(units.variant.isna(), "null_variant",
                      np.where(units.n_variants > 1, "multiple_variants", "ok"))
    units["status"] = status
    ok = units[units.status == "ok"].copy()
    if cap is not None:  # winsorize non-binary metrics and covariates at the pooled percentile (linear = quantile_cont)
        for col in ("y1", "y2", "y3", "x1", "x2", "x3"):
            ok[col] = np.minimum(ok[col], np.quantile(ok[col], cap))

    by_variant = got[(got.level == "variant") & (got.status == "ok")].set_index("variant")
    assert set(by_variant.index) == {"control", "treat_a", "treat_b"}
    for variant, part in ok.groupby("variant"):
        row = by_variant.loc[variant]
        assert row.n_units == len(part)
        for i in range(4):
            expected = _stats(part, i)
            actual = (row[f"n{i}"], row[f"s{i}"], row[f"q{i}"], row[f"xs{i}"], row[f"xq{i}"], row[f"xy{i}"])
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), (variant, i)

    excluded = got[(got.level == "variant") & (got.status != "ok")].groupby("status").n_units.sum()
    expected_excluded = units[units.status != "ok"].groupby("status").size()
    assert excluded.to_dict() == expected_excluded.to_dict()
    assert expected_excluded.get("multiple_variants", 0) > 0 and expected_excluded.get("null_variant", 0) > 0

    seg = got[(got.level == "segment") & (got.status == "ok")]
    ok["segment"] = ok.country.fillna("(missing)")
    for (variant, segment), part in ok.groupby(["variant", "segment"]):
        row = seg[(seg.variant == variant) & (seg.segment == segment)].iloc[0]
        assert (row.n0, row.s2, row.q2) == pytest.approx((len(part), part.y2.sum(), (part.y2**2).sum()), rel=1e-9)

    days = got[(got.level == "day") & (got.status == "ok")]
    for (variant, day), part in ok.groupby(["variant", "day"]):
        row = days[(days.variant == variant) & (days.day.dt.date == day)].iloc[0]
        assert (row.n0, row.s0) == pytest.approx((len(part), part.y0.sum()))


def test_stats_sql_quotes_hostile_names_and_binds_values(make_dataset) -> None:
    frame = pd.DataFrame({
        'user "id"': [1, 2, 3, 4, 5, 6],
        "grp; DROP": ["a", "b", "a", "b", "a", "b"],
        "val'ue": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        "seg ment": ["x", "y", "x", "y", "x", None],
    })
    ds = make_dataset(frame, unit='user "id"', variant="grp; DROP", dimensions=("seg ment",))
    q = build_stats_sql(ds, [parse_metric("val'ue", ds)], segment="seg ment", cap_percentile=0.5)
    got = ds.query_df(q.sql, q.params)
    top = got[got.level == "variant"].set_index("variant")
    cap = float(np.quantile([1, 2, 3, 4, 5, 7], 0.5))
    assert top.loc["b", "s0"] == pytest.approx(sum(min(v, cap) for v in (2.0, 4.0, 7.0)))
    assert "(missing)" in set(got[got.level == "segment"].segment)


EXPOSED = {"exposure_event": "experiment_exposure"}


@pytest.mark.parametrize("case", [{}, {**EXPOSED, "period": "post", "window_seconds": 3 * 86400},
                                  {**EXPOSED, "period": "pre"}, {**EXPOSED, "period": "post", "covariate": True}])
def test_packed_unit_rows_equal_the_plain_ones(sample_ds, case) -> None:
    # The packed per-unit query (counts summed four to a HUGEINT) must give exactly the plain query's rows.
    from insights.metrics import build_units_sql

    metrics = [parse_metric(m, sample_ds) for m in ("purchase", "count:purchase", "add_to_cart", "count:search",
                                                    "sum:revenue", "mean:revenue", "count:view_item", "begin_checkout")]
    plain = build_units_sql(sample_ds, metrics, ["device"], **case)
    packed = build_units_sql(sample_ds, metrics, ["device"], packed=True, **case)
    assert "__packed_1" in packed.sql and "__packed" not in plain.sql
    rows = [sample_ds.query(f"SELECT * FROM ({q.sql}) ORDER BY unit", q.params) for q in (plain, packed)]
    names = [sample_ds.query_df(f"SELECT * FROM ({q.sql}) LIMIT 1", q.params).columns.tolist() for q in (plain, packed)]
    assert sorted(names[0]) == sorted(names[1])
    order = [names[1].index(n) for n in names[0]]
    assert len(rows[0]) > 1000
    assert rows[0] == [tuple(r[i] for i in order) for r in rows[1]]
