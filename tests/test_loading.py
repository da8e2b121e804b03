"""Loading real and bad files through DuckDB's readers: every bad file gets one clear sentence."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from insights import InsightsError, load_bytes, load_file
from tests.bad_files import write_bad_files, write_good_gzip
from tests.conftest import ROOT


@pytest.fixture
def bad(tmp_path):
    return write_bad_files(tmp_path)


@pytest.mark.parametrize("case", ["empty", "whitespace", "header_only", "binary", "ragged", "one_column",
                                  "bad_gzip", "bad_parquet"])
def test_bad_file_raises_one_line_error(bad, case):
    path, fragment = bad[case]
    with pytest.raises(InsightsError) as info:
        load_file(path)
    message = info.value.message
    assert fragment in message
    assert "\n" not in message and path.name in message


@pytest.mark.parametrize("case", ["empty", "header_only", "binary", "ragged", "one_column"])
def test_cli_bad_file_exits_2_with_one_line(bad, case):
    path, fragment = bad[case]
    proc = subprocess.run([sys.executable, "-m", "insights", "profile", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_file_above_upload_limit_is_refused_by_size(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("user_id,value\n" + "u1,1\n" * 1000)
    with pytest.raises(InsightsError, match="above the upload limit"):
        load_file(path, max_mb=0.001)
    with pytest.raises(InsightsError, match="above the upload limit"):
        load_bytes(path.read_bytes(), "big.csv", max_mb=0.001)


def test_latin1_file_is_read_with_a_note(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("user_id,city,amount\n1,Düsseldorf,3\n2,Málaga,4\n".encode("latin-1"))
    ds = load_file(path)
    assert ds.query('SELECT city FROM events ORDER BY user_id') == [("Düsseldorf",), ("Málaga",)]
    assert any(code == "encoding" for code, _ in ds.load_notes)


def test_gzip_csv_and_parquet_load_the_same_rows(tmp_path):
    gz = write_good_gzip(tmp_path)
    frame = pd.read_csv(gz)
    pq = tmp_path / "events.parquet"
    frame.to_parquet(pq, index=False)
    a, b = load_file(gz), load_file(pq)
    assert a.query("SELECT count(*), count(DISTINCT user_id) FROM events") == [(50, 10)]
    assert a.query("SELECT count(*), count(DISTINCT user_id) FROM events") == \
        b.query("SELECT count(*), count(DISTINCT user_id) FROM events")
    assert a.shape == "event_log" and a.roles.event == "event"


def test_uploaded_bytes_keep_their_extension_for_gzip(tmp_path):
    gz = write_good_gzip(tmp_path)
    ds = load_bytes(gz.read_bytes(), "export.csv.gz")
    assert ds.source == "export.csv.gz"
    assert ds.query("SELECT count(*) FROM events") == [(50,)]


def test_hostile_column_names_survive_loading_and_quoting(tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_text('user_id,"we;ird ""q""",select, lead,😀,Group\n'
                    + "".join(f"u{i},{i},{i % 2},x{i % 3},{i * 2},{'ab'[i % 2]}\n" for i in range(30)))
    ds = load_file(path)
    names = ds.column_names
    assert 'we;ird "q"' in names and "select" in names and "😀" in names
    assert ds.roles.variant == "Group"
    from insights import quote_ident
    column = quote_ident('we;ird "q"')
    total = ds.query(f"SELECT sum({column}) FROM events")[0][0]
    assert total == sum(range(30))


def test_names_differing_only_in_case_are_reported(tmp_path):
    path = tmp_path / "case.csv"
    path.write_text("user_id,Country,country\nu1,DE,de\nu2,FR,fr\n")
    ds = load_file(path)
    assert any(code == "case_collision" for code, _ in ds.load_notes)


def test_connection_is_locked_down_after_loading(tmp_path):
    other = tmp_path / "secret.csv"
    other.write_text("a,b\n1,2\n")
    ds = load_bytes(b"user_id,x\nu1,1\nu2,2\n", "data.csv")
    with pytest.raises(duckdb.Error):
        ds.con.execute(f"SELECT * FROM read_csv('{other}')").fetchall()
    with pytest.raises(duckdb.Error):
        ds.con.execute("SET enable_external_access = true")


def test_large_files_are_stored_compressed_with_the_same_data_and_removed_when_released(tmp_path, monkeypatch):
    # A file from COMPRESS_FROM_MB on goes into a compressed database file in the dataset's own temporary folder,
    # sorted by unit and time; it must hold exactly what the in-memory load holds (thousands separators
    # converted too, the same roles), stay locked down, and disappear with the dataset.
    import gc
    import os

    from insights import loading

    path = tmp_path / "orders.csv"
    path.write_text("user_id,placed_at,event,amount,country\n" + "".join(
        f"u{i % 97},2026-03-{1 + i % 28:02d} 10:{i % 60:02d}:00,e{i % 4},\"{1000 + i:,}\",c{i % 5}\n"
        for i in range(5000)))
    memory = load_file(path)
    monkeypatch.setattr(loading, "COMPRESS_FROM_MB", 0.0)
    stored = load_file(path)
    (folder,) = {p for (p,) in stored.query("SELECT path FROM duckdb_databases() WHERE path IS NOT NULL")}
    assert os.path.isfile(folder) and memory.query("SELECT count(*) FROM duckdb_databases() "
                                                   "WHERE path IS NOT NULL") == [(0,)]
    everything = "SELECT * FROM events ORDER BY ALL"
    assert stored.columns == memory.columns and stored.roles == memory.roles
    assert stored.query(everything) == memory.query(everything)
    assert dict(stored.load_notes).keys() == dict(memory.load_notes).keys() == {"thousands_separator"}
    with pytest.raises(duckdb.Error):
        stored.con.execute("SET enable_external_access = true")
    # stored with each unit's rows together in time order (the file interleaves the units)
    (order,) = {stored.query("SELECT list(user_id ORDER BY rowid) = list(user_id ORDER BY user_id, placed_at) "
                             "AND list(placed_at ORDER BY rowid) = list(placed_at ORDER BY user_id, placed_at) "
                             "FROM events")[0]}
    assert order and not memory.query("SELECT list(user_id ORDER BY rowid) = list(user_id ORDER BY user_id) "
                                      "FROM events")[0][0]
    # a file already in (unit, time) order is stored as it is, without a second sort
    con = duckdb.connect()
    con.execute("CREATE TABLE a AS SELECT 'u' || lpad((i // 40)::VARCHAR, 4, '0') AS u, i % 40 AS t "
                "FROM range(4000) AS r(i)")
    con.execute("CREATE TABLE b AS SELECT * FROM a WHERE t <> 7 UNION ALL SELECT * FROM a WHERE t = 7")
    assert loading._first_rows_in_order(con, "a", "u", "t") and not loading._first_rows_in_order(con, "b", "u", "t")
    # without a time column the file's order decides a unit's first row: it is kept
    plain = tmp_path / "accounts.csv"
    plain.write_text("account_id,plan\n" + "".join(f"a{(7 * i) % 50},p{i}\n" for i in range(200)))
    kept = load_file(plain)
    assert kept.roles.time is None
    assert kept.query("SELECT list(plan ORDER BY rowid) FROM events") == [([f"p{i}" for i in range(200)],)]
    del stored
    gc.collect()
    assert not os.path.exists(os.path.dirname(folder))


def test_thousands_separators_need_every_value_not_only_the_first_rows(tmp_path, monkeypatch):
    # The first rows only rule columns out; a column whose later values are not numbers stays text.
    from insights import loading

    monkeypatch.setattr(loading, "THOUSANDS_HEAD_ROWS", 5)
    path = tmp_path / "amounts.csv"
    rows = [f"u{i},\"{1000 + i:,}\",\"{2000 + i:,}\"" for i in range(20)]
    rows[12] = 'u12,"1,012","n/a"'
    path.write_text("user_id,amount,price\n" + "\n".join(rows) + "\n")
    ds = load_file(path)
    assert ds.dtype("amount") == "DOUBLE" and ds.dtype("price") == "VARCHAR"
    assert ds.query("SELECT sum(amount) FROM events") == [(sum(1000 + i for i in range(20)),)]
