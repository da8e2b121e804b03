"""``python -m insights sql`` through a subprocess: the JSON contract, text output and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, SAMPLE


def _json(stdout: str) -> dict:
    # DuckDB draws its progress bar on stdout for queries slower than 2 s (a busy machine) because the
    # loaded connection does not turn it off before locking its configuration; it is all printed before the JSON.
    return json.loads(stdout[stdout.index("{\n"):])


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "insights", "sql", str(SAMPLE), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_sql_json_contract_for_a_statement():
    proc = _run("paid social users purchase less than other users", "--json")
    assert proc.returncode == 0, proc.stderr
    out = _json(proc.stdout)
    assert {"sql", "columns", "rows", "verdict", "p_value"} <= out.keys()
    assert out["verdict"] == "supported" and out["p_value"] < 1e-40
    assert out["columns"] == ["channel", "units", "converted", "purchase_rate"]
    rates = {row[0]: row[-1] for row in out["rows"]}
    # sample_data/README.md, effect 2: paid_social 7.60% vs others 12.64%
    assert round(rates["paid_social"], 4) == 0.0760 and round(rates["(others)"], 4) == 0.1264
    assert out["sql"].startswith("WITH units AS")


def test_sql_text_output_and_unanswerable_question():
    proc = _run("how many users reached checkout last week")
    assert proc.returncode == 0 and "SELECT" in proc.stdout and proc.stdout.strip().splitlines()[-1].isdigit()
    proc = _run("what is the NPS by country?")
    assert proc.returncode == 2 and "error: could not answer" in proc.stderr and "NPS" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run("what is the NPS by country?", "--json")
    out = _json(proc.stdout)
    assert out["sql"] is None and out["rows"] == [] and out["verdict"] is None and "NPS" in out["message"]


def test_sql_llm_flag_without_a_key_is_a_one_line_error():
    env = {k: "" for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = _run("median order value by device", "--llm", env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "OPENAI_API_KEY" in proc.stderr
