"""Profile numbers checked against pandas on the same rows, and every data-quality warning triggered."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from insights import profile
from tests.conftest import ROOT, shared_file


def test_profile_counts_match_pandas(make_dataset):
    frame = pd.DataFrame({
        "user_id": ["a", "a", "b", None, "c", "c"],
        "event_time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05",
                                      "2026-01-05"]),
        "event": ["view", "buy", "view", "view", "view", "view"],
        "variant": ["A", "B", "A", "A", "B", "B"],
        "country": ["DE", "DE", None, "FR", "FR", "FR"],
    })
    ds = make_dataset(frame)
    p = profile(ds)
    assert p.shape == "event_log" and p.n_rows == len(frame)
    assert p.n_units == frame["user_id"].nunique()
    assert p.time_min == frame["event_time"].min() and p.time_max == frame["event_time"].max()
    by_name = {c.name: c for c in p.columns}
    assert by_name["country"].null_rate == frame["country"].isna().mean()
    assert by_name["country"].n_distinct == frame["country"].nunique()
    codes = {w.code for w in p.warnings}
    assert {"null_units", "multiple_variants", "duplicate_rows"} <= codes


def test_unit_table_duplicates_and_bad_timestamps(make_dataset):
    times = ["2026-01-01", "2026-01-01", "junk"] + [f"2026-01-{d:02d}" for d in range(2, 28)]
    frame = pd.DataFrame({"user_id": ["a", "a"] + [f"u{i}" for i in range(27)], "signup_time": times,
                          "converted": [1, 1] + [i % 2 for i in range(27)]})
    ds = make_dataset(frame, fmt="csv")
    codes = {w.code for w in profile(ds).warnings}
    assert {"duplicate_units", "duplicate_rows", "unparsed_timestamps"} <= codes


def test_udacity_profile_reports_units_in_both_groups():
    # 1,895 users appear in both control and treatment rows of the published file (pandas: groupby nunique > 1).
    path = shared_file("udacity_ab_data", "ab_data.csv.gz")
    raw = pd.read_csv(path)
    expected = int((raw.groupby("user_id")["group"].nunique() > 1).sum())
    from insights import load_file
    warnings = {w.code: w.message for w in profile(load_file(path)).warnings}
    assert f"{expected:,} units" in warnings["multiple_variants"]


def test_cli_profile_json_contract(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,event_time,event,device\n" + "".join(
        f"u{i % 7},2026-02-0{1 + i % 9} 09:00:00,{('view', 'cart', 'buy')[i % 3]},{('ios', 'web')[i % 2]}\n"
        for i in range(40)))
    proc = subprocess.run([sys.executable, "-m", "insights", "profile", str(path), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(proc.stdout)
    assert {"shape", "n_rows", "n_units", "time_min", "time_max", "roles", "columns", "warnings"} <= set(out)
    assert out["shape"] == "event_log" and out["n_rows"] == 40 and out["n_units"] == 7
    assert out["roles"] == {"unit": "user_id", "time": "event_time", "event": "event", "variant": None}
    assert {"name", "role", "dtype", "null_rate", "n_distinct"} <= set(out["columns"][0])
    assert all({"code", "message"} <= set(w) for w in out["warnings"])


def test_cli_role_override(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("who,when,what\na,2026-01-01,x\nb,2026-01-02,y\na,2026-01-03,y\n")
    proc = subprocess.run([sys.executable, "-m", "insights", "profile", str(path), "--json", "--unit-col", "who",
                           "--event-col", "what"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(proc.stdout)
    assert out["roles"]["unit"] == "who" and out["roles"]["event"] == "what" and out["n_units"] == 2
    bad = subprocess.run([sys.executable, "-m", "insights", "profile", str(path), "--unit-col", "nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no column named 'nope'" in bad.stderr


def test_duplicate_row_count_equals_pandas_on_rows_sharing_unit_and_time(make_dataset):
    # Only rows sharing (unit, time) can be identical; the count must equal pandas' duplicated() over all
    # columns, also for near-duplicates (same unit and time, another event) and NULL units or times.
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({
        "user_id": rng.choice([f"u{i}" for i in range(40)] + [None], n),
        "event_time": pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="h"),
        "event": rng.choice(["view", "buy"], n),
        "country": rng.choice(["DE", "FR", None], n),
    })
    ds = make_dataset(frame, unit="user_id", time="event_time", event="event")
    want = int(frame.duplicated().sum())
    assert want > 100
    got = next(w for w in profile(ds).warnings if w.code == "duplicate_rows")
    assert got.message.startswith(f"{want:,} rows are exact duplicates")
