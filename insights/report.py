"""A shareable report of the top insights: a self-contained HTML file and a Markdown version.

The HTML has no script and loads nothing: charts are PNG images inlined as ``data:`` URIs (rendered offline with
vl-convert from the same Vega-Lite specs the app shows), SQL is in ``<pre>`` blocks, styles are inline. The
Markdown carries the same statements, key numbers and SQL, and each chart as a small table of its values.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import math
from dataclasses import dataclass

from insights.findings import ChartData, Finding
from insights.llm_phrasing import PhrasedInsight, Phrasing, template_phrasing
from insights.phrasing import fmt_count, fmt_diff, fmt_p, fmt_value, is_rate
from insights.pipeline import InsightsResult

logger = logging.getLogger(__name__)

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:960px;margin:2em auto;
padding:0 1em;color:#1f2328;line-height:1.5}h1{font-size:1.6em}h2{font-size:1.2em;margin-top:0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:1em 1.2em;margin:1.2em 0}
.meta,.why,.notice,.exact{color:#59636e;font-size:.92em}table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;font-size:.92em}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em;border-radius:6px}
img{max-width:100%;height:auto}"""


@dataclass(frozen=True, slots=True)
class ReportItem:
    """One insight of the report: the finding, its wording and its key numbers as display strings."""

    rank: int
    finding: Finding
    wording: PhrasedInsight
    numbers: tuple[tuple[str, str], ...]


def key_numbers(f: Finding) -> tuple[tuple[str, str], ...]:
    """(label, value) pairs shown beside a statement, formatted as in the template statements."""
    rate = is_rate(f)
    rows = [("Subject", fmt_value(f.subject_mean, rate)), ("Baseline", fmt_value(f.baseline_mean, rate)),
            ("Difference", fmt_diff(f.effect, rate))]
    if not math.isnan(f.rel_effect):
        rows.append(("Relative", f"{f.rel_effect:+.1%}"))
    if not math.isnan(f.ci_low):
        rows.append(("95% CI", f"{fmt_diff(f.ci_low, rate)} to {fmt_diff(f.ci_high, rate)}"))
    rows += [("Units", fmt_count(f.n_units)), ("Baseline units", fmt_count(f.n_baseline))]
    if f.is_test:
        rows += [("p", fmt_p(f.p_value).removeprefix("p ").removeprefix("= ")),
                 ("Adjusted p", fmt_p(f.p_value_adjusted).removeprefix("p ").removeprefix("= ")),
                 ("Test", f.test)]
    return tuple(rows)


def report_items(result: InsightsResult, phrasing: Phrasing | None = None) -> list[ReportItem]:
    """The report's insights, each with its wording (the template when ``phrasing`` is None or lacks it)."""
    words = {p.key: p for p in (phrasing or template_phrasing(result.insights)).insights}
    fallback = {p.key: p for p in template_phrasing(result.insights).insights}
    return [ReportItem(i, f, words.get(f.key, fallback[f.key]), key_numbers(f))
            for i, f in enumerate(result.insights, 1)]


def chart_png(chart: ChartData | None, scale: float = 1.5) -> bytes | None:
    """The chart as PNG bytes (None when there is nothing to draw or rendering fails)."""
    if chart is None or not chart.rows:
        return None
    import vl_convert

    from insights.charts import vega_lite

    try:
        return bytes(vl_convert.vegalite_to_png(vega_lite(chart), scale=scale))
    except Exception as exc:  # a chart that cannot render must not lose the report
        logger.warning("chart %r not rendered: %s", chart.title, exc)
        return None


def _summary(result: InsightsResult) -> str:
    docs = f"; past-initiative docs: {', '.join(result.docs)}" if result.docs else ""
    return (f"North star: {result.metric}. {result.tests_run:,} tests in one Benjamini-Hochberg family at a "
            f"{result.fdr:.0%} false discovery rate; {result.n_eligible} findings survived{docs}.")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def report_html(result: InsightsResult, source: str, phrasing: Phrasing | None = None,
                generated: str | None = None) -> str:
    """A self-contained HTML report (no script, no external resource)."""
    esc = html.escape
    items = report_items(result, phrasing)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Insights report: {esc(source)}</title><style>{CSS}</style></head><body>",
           f"<h1>Insights report: {esc(source)}</h1>",
           f'<p class="meta">{esc(_summary(result))} Generated {esc(generated or _now())}.</p>']
    if phrasing is not None and phrasing.notice:
        out.append(f'<p class="notice">{esc(phrasing.notice)}</p>')
    if not items:
        out.append("<p>Nothing survived the multiple-testing correction.</p>")
    for it in items:
        w, f = it.wording, it.finding
        out.append(f'<section class="card" id="insight-{it.rank}">')
        out.append(f"<h2>{it.rank}. {esc(w.headline)}</h2>")
        out.append(f'<p class="statement">{esc(w.text)}</p>')
        if w.source == "llm":
            out.append(f'<p class="exact">Exact statement: <span class="template">{esc(f.statement)}</span></p>')
        if w.source == "llm" and w.why:
            initiative = f" (see {esc(w.initiative)})" if w.initiative else ""
            out.append(f'<p class="why">Why it matters: {esc(w.why)}{initiative}</p>')
        out.append("<table><tbody>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                                              for k, v in it.numbers) + "</tbody></table>")
        png = chart_png(f.chart)
        if png is not None and f.chart is not None:
            data = base64.b64encode(png).decode("ascii")
            out.append(f'<figure><img alt="{esc(f.chart.title)}" src="data:image/png;base64,{data}"></figure>')
        out.append(f'<p class="meta">Ranked because: {esc(f.rank_reason)}</p>')
        out.append(f'<details open><summary>SQL (DuckDB) that reproduces these numbers</summary>'
                   f'<pre><code class="sql">{esc(result.sql_of(f))}</code></pre></details>')
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _chart_table(chart: ChartData) -> list[str]:
    fmt = (lambda x: "" if math.isnan(x) else f"{x:.2%}") if chart.percent else \
        (lambda x: "" if math.isnan(x) else f"{x:,.4g}")
    lines = [f"Chart: {chart.title} ({chart.y_title})", "", f"| {chart.x_title or 'x'} | group | value | low | high |",
             "|---|---|---|---|---|"]
    lines += [f"| {_md_escape(r.x)} | {_md_escape(r.group)} | {fmt(r.y)} | {fmt(r.low)} | {fmt(r.high)} |"
              for r in chart.rows]
    return lines


def report_markdown(result: InsightsResult, source: str, phrasing: Phrasing | None = None,
                    generated: str | None = None) -> str:
    """The report as Markdown (charts as tables of their values)."""
    items = report_items(result, phrasing)
    out = [f"# Insights report: {source}", "", f"{_summary(result)} Generated {generated or _now()}.", ""]
    if phrasing is not None and phrasing.notice:
        out += [f"> {phrasing.notice}", ""]
    if not items:
        out += ["Nothing survived the multiple-testing correction.", ""]
    for it in items:
        w, f = it.wording, it.finding
        out += [f"## {it.rank}. {w.headline}", "", w.text, ""]
        if w.source == "llm":
            out += [f"Exact statement: {f.statement}", ""]
        if w.source == "llm" and w.why:
            out += [f"Why it matters: {w.why}" + (f" (see {w.initiative})" if w.initiative else ""), ""]
        out += ["| Number | Value |", "|---|---|"] + [f"| {k} | {_md_escape(v)} |" for k, v in it.numbers] + [""]
        if f.chart is not None and f.chart.rows:
            out += _chart_table(f.chart) + [""]
        out += [f"Ranked because: {f.rank_reason}", "", "```sql", result.sql_of(f), "```", ""]
    return "\n".join(out)


def write_report(result: InsightsResult, source: str, path: str, phrasing: Phrasing | None = None) -> str:
    """Write the report to ``path`` (``.html``/``.htm`` or ``.md``/``.markdown``); returns the format."""
    from pathlib import Path

    from insights.errors import InsightsError

    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        text, kind = report_html(result, source, phrasing), "html"
    elif suffix in (".md", ".markdown"):
        text, kind = report_markdown(result, source, phrasing), "markdown"
    else:
        raise InsightsError("bad_report_path", f"--out must end in .html or .md, not {suffix or 'nothing'!r}.")
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InsightsError("bad_report_path", f"Could not write {path}: {exc.strerror}.") from exc
    return kind
