"""Bad input files written on demand: each with the message fragment users must see."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def write_bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Create the foundation's bad-input corpus in ``folder``: name -> (path, expected message fragment)."""
    files: dict[str, tuple[bytes, str, str]] = {
        "empty": (b"", "empty.csv", "is empty"),
        "whitespace": (b"\n\n  \n", "whitespace.csv", "is empty"),
        "header_only": (b"user_id,event,ts\n", "header_only.csv", "no data rows"),
        "binary": (bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "binary.csv",
                   "not a text CSV"),
        "ragged": (b"a,b\n1,2\n3,4,5\n6\n", "ragged.csv", "different numbers of fields"),
        "one_column": (b"user_id\n1\n2\n3\n", "one_column.csv", "single column"),
        "bad_gzip": (b"\x1f\x8b\x08\x00garbage-not-gzip", "bad.csv.gz", "could not be decompressed"),
        "bad_parquet": (b"PAR1this is not really parquet", "bad.parquet", "not a readable Parquet"),
    }
    out = {}
    for key, (data, name, fragment) in files.items():
        path = folder / name
        path.write_bytes(data)
        out[key] = (path, fragment)
    return out


def write_good_gzip(folder: Path) -> Path:
    path = folder / "events.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("user_id,event_time,event\n")
        for i in range(50):
            fh.write(f"u{i % 10},2026-01-0{1 + i % 9} 10:00:00,{'view' if i % 3 else 'buy'}\n")
    return path
