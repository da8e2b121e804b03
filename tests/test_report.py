"""The shareable report: parsed back, the HTML holds every statement, key number, chart (as an inline PNG) and SQL
and loads nothing from outside; the Markdown holds the same; the CLI writes both and rejects other suffixes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights.findings import ChartData, ChartRow, Finding
from insights.llm_phrasing import PhrasedInsight, Phrasing
from insights.phrasing import statement
from insights.pipeline import InsightsResult
from insights.report import report_html, report_markdown
from tests.conftest import ROOT
from tests.llm_server import faithful, running_server

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _finding(key: str, value: str, subject_mean: float, chart: ChartData | None, sql: str) -> Finding:
    base = dict(kind="segment", metric="purchase", metric_label="purchase conversion", dimension="device",
                value=value, direction="lower" if subject_mean < 0.12 else "higher", subject_mean=subject_mean,
                baseline_mean=0.12, effect=subject_mean - 0.12, rel_effect=(subject_mean - 0.12) / 0.12,
                ci_low=subject_mean - 0.13, ci_high=subject_mean - 0.11, p_value=1e-6, p_value_adjusted=3e-6,
                n_units=1200, n_baseline=4800, test="two-proportion z-test", sql=sql, chart=chart, key=key,
                rank_reason="largest effect <first>")
    f = Finding(**base)  # type: ignore[arg-type]
    return Finding(**{**base, "statement": statement(f, "users")})  # type: ignore[arg-type]


BARS = ChartData("bars", "purchase conversion by device", "purchase conversion",
                 (ChartRow("tablet", 0.05, 0.04, 0.06, "highlight"), ChartRow("mobile", 0.12, 0.11, 0.13),
                  ChartRow("desktop", 0.13, 0.12, 0.14)), "device", percent=True)
SERIES = ChartData("series", "daily conversion", "conversion",
                   tuple(ChartRow(f"2026-09-{d:02d}", 0.1 + d / 1000) for d in range(1, 15)), "day",
                   marker="2026-09-07", percent=True)
FINDINGS = (
    _finding("a", "tablet", 0.05, BARS,
             'SELECT count(*) AS n_units FROM "events" WHERE "device" = \'tablet\' AND 1 < 2'),
    _finding("b", "mobile", 0.14, SERIES, "SELECT avg(y) AS subject_mean FROM t WHERE x <> 'a&b'"),
    _finding("c", "desktop", 0.13, None, "SELECT 3 AS effect"),
)
RESULT = InsightsResult("purchase", 12, FINDINGS, FINDINGS, 3, 0.05, ("Tablet redesign",))


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.by_class: dict[str, list[str]] = {}
        self.imgs: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "img":
            self.imgs.append(a)
        else:
            self.stack.append((tag, a))
            for c in (a.get("class") or "").split():
                self.by_class.setdefault(c, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for _, a in self.stack:
            for c in (a.get("class") or "").split():
                self.by_class[c][-1] += data


def parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    p.close()
    return p


def test_html_report_has_every_statement_sql_and_chart_and_nothing_external() -> None:
    page = parse(report_html(RESULT, "shop.parquet", generated="2026-01-01 00:00 UTC"))
    assert page.by_class["statement"] == [f.statement for f in FINDINGS]
    assert page.by_class["sql"] == [f.sql for f in FINDINGS]
    assert len(page.imgs) == 2 and [i["alt"] for i in page.imgs] == [BARS.title, SERIES.title]
    for img in page.imgs:
        src = img["src"] or ""
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == PNG_MAGIC and len(png) > 2000
    assert "script" not in page.tags and all(u.startswith("data:") for u in page.urls)
    assert sum("Ranked because: largest effect <first>" in m for m in page.by_class["meta"]) == 3


def test_html_report_shows_llm_wording_with_the_exact_statement_and_the_notice() -> None:
    words = [PhrasedInsight("a", "Tablets lag", "Tablet users convert at 5% against 12%.", "Tablets matter.",
                            "Tablet redesign", "llm")]
    words += [PhrasedInsight(f.key, "h", f.statement, "", None, "template", "bad number") for f in FINDINGS[1:]]
    phrasing = Phrasing(tuple(words), "m", "2 of 3 statements use the template wording.")
    text = report_html(RESULT, "shop.parquet", phrasing)
    page = parse(text)
    assert page.by_class["statement"][0] == "Tablet users convert at 5% against 12%."
    assert page.by_class["template"] == [FINDINGS[0].statement]
    assert page.by_class["notice"] == ["2 of 3 statements use the template wording."]
    assert "Why it matters: Tablets matter. (see Tablet redesign)" in page.by_class["why"][0]


def test_markdown_report_has_every_statement_sql_and_chart_values() -> None:
    text = report_markdown(RESULT, "shop.parquet")
    for f in FINDINGS:
        assert f"\n{f.statement}\n" in text and f"```sql\n{f.sql}\n```" in text
    assert text.count("Chart: ") == 2 and "| tablet | highlight | 5.00% | 4.00% | 6.00% |" in text
    assert "| Adjusted p | < 0.001 |" in text and "| Test | two-proportion z-test |" in text
    assert report_markdown(InsightsResult("purchase", 3, (), (), 0, 0.05), "x").count(
        "Nothing survived the multiple-testing correction.") == 1


@pytest.fixture(scope="module")
def event_file(tmp_path_factory) -> Path:
    """A small seeded event log where tablet users buy less (so the pipeline has findings)."""
    rng = np.random.default_rng(66)
    n = 3000
    device = rng.choice(["desktop", "mobile", "tablet"], n)
    channel = rng.choice(["email", "organic"], n)
    start = pd.Timestamp("2026-09-01") + pd.to_timedelta(rng.integers(0, 20 * 86400, n), unit="s")
    buys = rng.random(n) < np.where(device == "tablet", 0.05, 0.2)
    rows = [pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "event_time": start, "event": "session_start",
                          "device": device, "channel": channel})]
    rows.append(pd.DataFrame({"user_id": [f"u{i}" for i in np.flatnonzero(buys)],
                              "event_time": start[buys] + pd.Timedelta(minutes=5), "event": "purchase",
                              "device": device[buys], "channel": channel[buys]}))
    path = tmp_path_factory.mktemp("report") / "events.parquet"
    pd.concat(rows).sort_values("event_time").to_parquet(path, index=False)
    return path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INSIGHTS_LLM_"))}
    return subprocess.run([sys.executable, "-m", "insights", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**base, **(env or {})})


def test_cli_writes_html_and_markdown_reports(event_file: Path, tmp_path: Path) -> None:
    html_out, md_out = tmp_path / "r.html", tmp_path / "r.md"
    done = _cli("report", str(event_file), "--metric", "purchase", "--out", str(html_out), "--json")
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    assert meta["format"] == "html" and meta["metric"] == "purchase" and meta["insights"] >= 1
    page = parse(html_out.read_text(encoding="utf-8"))
    assert len(page.by_class["statement"]) == meta["insights"] and len(page.by_class["sql"]) == meta["insights"]
    assert any("device = tablet" in s for s in page.by_class["statement"]) and page.imgs
    done = _cli("report", str(event_file), "--metric", "purchase", "--out", str(md_out))
    assert done.returncode == 0 and "Wrote a markdown report" in done.stdout
    text = md_out.read_text(encoding="utf-8")
    assert all(s in text for s in page.by_class["statement"]) and text.count("```sql") == meta["insights"]


def _main(capsys, *args: str) -> tuple[int, str, str]:
    from insights.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_rejects_an_unknown_report_suffix_and_llm_without_a_key(event_file: Path, tmp_path: Path, capsys,
                                                                    monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "INSIGHTS_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = _main(capsys, "report", str(event_file), "--out", str(tmp_path / "r.pdf"))
    assert code == 2 and err.count("\n") == 1 and ".html or .md" in err
    code, _, err = _main(capsys, "top", str(event_file), "--llm")
    assert code == 2 and "OPENAI_API_KEY" in err and err.count("\n") == 1


def test_cli_top_llm_phrases_through_the_configured_endpoint(event_file: Path, capsys, monkeypatch) -> None:
    with running_server() as server:
        server.play(("answer", faithful))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("INSIGHTS_LLM_MODEL", "m1")
        code, out, err = _main(capsys, "top", str(event_file), "--metric", "purchase", "--llm", "--json")
        assert code == 0, err
        assert len(server.requests) == 1 and server.requests[0]["body"]["model"] == "m1"
        insights = json.loads(out)["insights"]
        assert insights and all(i["phrased"]["source"] == "llm" and i["phrased"]["text"] == i["statement"]
                                for i in insights)
        server.play(("status", 503))
        monkeypatch.setenv("INSIGHTS_LLM_MAX_RETRIES", "0")
        code, out, err = _main(capsys, "top", str(event_file), "--metric", "purchase", "--llm")
        assert code == 0 and "note: Template statements are shown: the endpoint answered with HTTP 503." in err
        assert insights[0]["statement"] in out
    assert "sk-cli-test" not in out + err
