"""Choosing the data on the command line: a file, or --source with --table or --sql; misuse is one error line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLE


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "insights", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.mark.parametrize(("args", "says"), [
    (("profile",), "Give a CSV"),
    (("profile", str(SAMPLE), "--table", "events"), "--table and --sql name the events of a --source"),
    (("profile", str(SAMPLE), "--source", "spark"), "either a file PATH or --source"),
    (("profile", "--source", "mysql://db/x", "--table", "events"), "Unknown source"),
    (("profile", "--source", "postgresql://u@127.0.0.1:1/db"), "exactly one of --table NAME or --sql"),
    (("funnel", "--source", "postgresql://u@127.0.0.1:1/db", "--table", "a", "--sql", "SELECT 1", "--steps", "a,b"),
     "exactly one of --table NAME or --sql"),
    (("segments", "--source", "postgresql://u@127.0.0.1:1/db", "--sql", "DELETE FROM events"), "one SELECT"),
])
def test_source_misuse_is_one_error_line_and_exit_2(args, says):
    done = _cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
