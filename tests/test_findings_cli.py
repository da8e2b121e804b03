"""CLI contract of ``top`` and ``segments`` (docs/cli.md): exact keys, exit code 2 on bad input."""

from __future__ import annotations

import json

from insights.cli import main
from tests.conftest import SAMPLE

KEYS = {"kind", "statement", "sql", "metric", "dimension", "value", "direction", "effect", "p_value",
        "p_value_adjusted", "n_units"}


def test_top_json_keys(capsys):
    assert main(["top", str(SAMPLE), "--metric", "purchase", "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"metric", "tests_run", "insights"}
    assert out["metric"] == "purchase" and out["tests_run"] > 0
    assert [i["rank"] for i in out["insights"]] == [1, 2, 3]
    assert all(set(i) == KEYS | {"rank"} for i in out["insights"])
    assert all(i["direction"] in ("higher", "lower") for i in out["insights"])


def test_segments_json_lists_every_test(capsys):
    assert main(["segments", str(SAMPLE), "--metric", "purchase", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tests_run"] == len(out["segments"]) > 10
    assert all(set(s) == KEYS for s in out["segments"])
    assert {s["dimension"] for s in out["segments"]} == {"country", "device", "channel", "plan"}


def test_bad_metric_is_one_line_and_exit_2(capsys):
    assert main(["top", str(SAMPLE), "--metric", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
