"""A session's dataset lives only as long as something refers to it: nothing in the core keeps uploads alive,
so when Streamlit drops a session's state, its DuckDB database and memory go with it."""

from __future__ import annotations

import gc
import weakref

from insights import load_bytes, profile


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def test_uploaded_datasets_are_freed_when_no_session_holds_them():
    data = ("member_id,logged_at,action,region\n" + "".join(
        f"m{i % 9000},2026-04-{1 + i % 28:02d} 09:{i % 60:02d}:00,act{i % 5},r{i % 7}\n" for i in range(300_000)
    )).encode()
    gc.collect()
    start = _rss_mb()
    sessions = [load_bytes(data, f"export{k}.csv") for k in range(5)]
    for ds in sessions:
        profile(ds)
    loaded = _rss_mb()
    refs = [weakref.ref(ds) for ds in sessions]
    del sessions, ds
    gc.collect()
    freed = _rss_mb()
    print(f"RSS {start:.0f} MB -> {loaded:.0f} MB with 5 uploads of 300,000 rows -> {freed:.0f} MB after release")
    assert all(r() is None for r in refs)
    assert loaded - start > 50
    assert freed - start < 0.6 * (loaded - start)
