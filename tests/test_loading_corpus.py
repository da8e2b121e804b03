"""A corpus of awkward and broken files through the loader: each one loads correctly or says why not."""

from __future__ import annotations

import datetime as dt
import gzip
import os

import numpy as np
import pytest

from insights import InsightsError, load_file, profile

ROWS = "".join(f"u{i % 7},2026-01-{1 + i % 20:02d} 10:00:00,{('view', 'buy')[i % 2]},{i}\n" for i in range(40))
BASIC = "user_id,event_time,event,amount\n" + ROWS


def _events(ds):
    return ds.query("SELECT count(*), count(DISTINCT user_id) FROM events")[0]


def _times(ds):
    return [r[0] for r in ds.query(f"SELECT {ds.time_sql()} FROM events ORDER BY user_id")]


def check_basic(ds):
    assert ds.roles.unit == "user_id" and ds.roles.time == "event_time" and ds.roles.event == "event"
    assert _events(ds) == (40, 7)
    assert ds.query("SELECT sum(amount) FROM events")[0][0] == sum(range(40))


def check_names(*expected):
    def check(ds):
        assert ds.column_names == expected
    return check


# name -> (bytes, check function or expected message fragment)
CASES: dict[str, tuple[bytes, object]] = {
    "plain": (BASIC.encode(), check_basic),
    "utf8_bom": (("\ufeff" + BASIC).encode(), check_basic),
    "crlf": (BASIC.replace("\n", "\r\n").encode(), check_basic),
    "semicolon": (BASIC.replace(",", ";").encode(), check_basic),
    "tab": (BASIC.replace(",", "\t").encode(), check_basic),
    "pipe": (BASIC.replace(",", "|").encode(), check_basic),
    "quoted_newlines": (b'user_id,note,amount\nu1,"line one\nline two",3\nu2,"x, y",4\n',
                        lambda ds: ds.query("SELECT note FROM events ORDER BY user_id")[0][0] == "line one\nline two"),
    "decimal_commas": (b"user_id;amount;country\nu1;1,5;DE\nu2;2,25;FR\nu3;10,0;DE\n",
                       lambda ds: ds.query("SELECT sum(amount) FROM events")[0][0] == pytest.approx(13.75)),
    "thousands_separators": (b'user_id,amount\nu1,"1,234"\nu2,"2,000.5"\n',
                             lambda ds: ds.query("SELECT sum(amount) FROM events")[0][0] == pytest.approx(3234.5)),
    "utf16": ("\ufeffuser_id,city\nu1,Köln\nu2,Zürich\n".encode("utf-16-le"),
              lambda ds: ds.query("SELECT city FROM events ORDER BY 1") == [("Köln",), ("Zürich",)]),
    "latin1": ("user_id,city\nu1,Düsseldorf\nu2,Málaga\n".encode("latin-1"),
               lambda ds: ds.query("SELECT city FROM events ORDER BY 1") == [("Düsseldorf",), ("Málaga",)]),
    "mixed_timestamp_formats": (b"user_id,ts,event\nu1,2026-01-01 10:00:00,a\nu2,01/02/2026 10:00,b\n"
                                b"u3,2026-01-03T10:00:00Z,a\nu4,04.01.2026,b\n",
                                lambda ds: _times(ds) == [dt.datetime(2026, 1, 1, 10), dt.datetime(2026, 1, 2, 10),
                                                          dt.datetime(2026, 1, 3, 10), dt.datetime(2026, 1, 4)]),
    "time_zones": (b"user_id,ts,event\nu1,2026-01-01T10:00:00+02:00,a\nu2,2026-01-02T10:00:00-05:00,b\n"
                   b"u3,2026-01-03T10:00:00+00:00,a\n",
                   lambda ds: _times(ds) == [dt.datetime(2026, 1, 1, 8), dt.datetime(2026, 1, 2, 15),
                                             dt.datetime(2026, 1, 3, 10)]),
    "epoch_seconds": (b"user_id,ts,event\nu1,1767261600,a\nu2,1767348000,b\nu3,1767434400,a\n",
                      lambda ds: ds.roles.time_unit == "epoch_s" and _times(ds)[0] == dt.datetime(2026, 1, 1, 10)),
    "epoch_milliseconds": (b"user_id,ts,event\nu1,1767261600000,a\nu2,1767348000000,b\nu3,1767434400000,a\n",
                           lambda ds: ds.roles.time_unit == "epoch_ms" and _times(ds)[0] == dt.datetime(2026, 1, 1,
                                                                                                         10)),
    "flags_0_1": (b"user_id,converted\nu1,1\nu2,0\nu3,1\n",
                  lambda ds: "converted" in ds.roles.metrics),
    "flags_true_false": (b"user_id,converted\nu1,TRUE\nu2,FALSE\nu3,true\n",
                         lambda ds: ds.dtype("converted") == "BOOLEAN" and "converted" in ds.roles.metrics),
    "flags_yes_no": (b"user_id,converted\nu1,yes\nu2,no\nu3,yes\n",
                     lambda ds: ds.dtype("converted") == "BOOLEAN" and "converted" in ds.roles.metrics),
    "duplicate_header_names": (b"user_id,amount,amount\nu1,1,2\nu2,3,4\n",
                               lambda ds: ds.column_names == ("user_id", "amount", "amount_1")
                               and any(code == "case_collision" for code, _ in ds.load_notes)),
    "names_differing_in_case": (b"user_id,Country,country\nu1,DE,de\nu2,FR,fr\n",
                                lambda ds: any(code == "case_collision" for code, _ in ds.load_notes)),
    "trailing_delimiter": (b"user_id,event,\nu1,view,\nu2,buy,\n",
                           lambda ds: ds.column_names[:2] == ("user_id", "event") and _events(ds) == (2, 2)),
    "hostile_names": ('user_id,"a""b",select,"; DROP TABLE events; --", lead,🚀\nu1,1,2,3,4,5\nu2,1,2,3,4,6\n'
                      .encode(), check_names("user_id", 'a"b', "select", "; DROP TABLE events; --", "lead", "🚀")),
    "all_null_column": (b"user_id,x,y\nu1,,1\nu2,,2\n", lambda ds: "x" not in ds.roles.dimensions),
    "gzip_csv": (gzip.compress(BASIC.encode()), check_basic),
    "empty": (b"", "is empty"),
    "blank_lines_only": (b"\n\r\n \n", "is empty"),
    "header_only": (b"user_id,event,ts\n", "no data rows"),
    "binary": (bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)), "not a text CSV"),
    "zip_disguised_as_csv": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(200), "not a text CSV"),
    "ragged": (b"a,b\n1,2\n3,4,5\n6\n", "different numbers of fields"),
    "one_column": (b"user_id\nu1\nu2\n", "single column"),
    "json_named_csv": (b'[{"user_id": 1}, {"user_id": 2}]\n', "looks like JSON"),
    "broken_gzip": (b"\x1f\x8b\x08\x00" + b"not really gzip" * 10, "could not be decompressed"),
    "broken_parquet": (b"PAR1" + b"\x00" * 64, "not a readable Parquet"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_file_loads_correctly_or_explains(tmp_path, name):
    data, expected = CASES[name]
    suffix = ".csv.gz" if name in ("gzip_csv", "broken_gzip") else ".parquet" if "parquet" in name else ".csv"
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(data)
    if isinstance(expected, str):
        with pytest.raises(InsightsError) as info:
            load_file(path)
        assert expected in info.value.message and "\n" not in info.value.message
    else:
        ds = load_file(path)
        assert expected(ds) is not False
        profile(ds)  # every loadable file can be profiled


def test_thousand_columns_load_and_profile(tmp_path):
    header = "user_id," + ",".join(f"c{i}" for i in range(1000))
    rows = "".join(f"u{r}," + ",".join(str((r * i) % 5) for i in range(1000)) + "\n" for r in range(30))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + rows)
    ds = load_file(path)
    assert len(ds.columns) == 1001
    assert len(profile(ds).columns) == 1001


def test_two_gigabyte_file_is_refused_by_its_size_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:  # sparse: announces 2 GB without writing them
        fh.truncate(2 * 1024**3)
    assert os.path.getsize(path) == 2 * 1024**3
    with pytest.raises(InsightsError, match="above the upload limit"):
        load_file(path)


def test_corpus_has_at_least_thirty_files():
    assert len(CASES) + 2 >= 30
