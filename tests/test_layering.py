"""The core never imports streamlit (checked in a clean interpreter), and pages hold no SQL or statistics."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_insights_package_does_not_import_streamlit():
    code = ("import pkgutil, importlib, sys, insights\n"
            "for m in pkgutil.walk_packages(insights.__path__, 'insights.'):\n"
            "    if m.name != 'insights.__main__':\n"
            "        importlib.import_module(m.name)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pages_do_not_contain_sql_or_statistics():
    pattern = re.compile(r"import (duckdb|scipy|statsmodels|openai)|from (duckdb|scipy|statsmodels|openai)|"
                         r"\bSELECT\b.+\bFROM\b", re.IGNORECASE)
    offenders = [p.name for p in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")] if pattern.search(p.read_text())]
    assert offenders == []
