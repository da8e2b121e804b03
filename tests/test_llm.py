"""LLM phrasing end to end: the real ``openai`` client against a local OpenAI-compatible server on 127.0.0.1.

Good answers are used; wrong numbers fall back per finding; slow answers, 429, 500, invalid JSON, refusals and an
unreachable endpoint all end in template statements with a short notice, never an exception.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd
import pytest

from insights.errors import InsightsError
from insights.findings import Finding
from insights.llm import LLMConfig, load_config, make_client
from insights.llm_phrasing import SYSTEM_PROMPT, phrase_insights, template_phrasing
from insights.phrasing import statement
from tests.llm_server import faithful, running_server, wrong_numbers

KEY = "sk-test-secret-0123456789"


def _finding(**kw: object) -> Finding:
    base: dict[str, object] = dict(
        kind="segment", metric="converted", metric_label="converted", dimension="device", value="tablet",
        direction="lower", subject_mean=0.05, baseline_mean=0.125, effect=-0.075, rel_effect=-0.6, ci_low=-0.09,
        ci_high=-0.06, p_value=1e-9, p_value_adjusted=2e-8, n_units=100, n_baseline=500,
        test="two-proportion z-test", sql="SELECT 1", chart=None, key="segment:device:tablet",
        rank_reason="largest effect",
    )
    base.update(kw)
    f = Finding(**base)  # type: ignore[arg-type]
    return Finding(**{**base, "statement": statement(f, "users")})  # type: ignore[arg-type]


FINDINGS = (
    _finding(),
    _finding(kind="experiment_effect", value="mobile", direction="higher", subject_mean=0.14, baseline_mean=0.11,
             effect=0.03, rel_effect=0.03 / 0.11, ci_low=0.01, ci_high=0.05, subject="Treatment against control",
             key="experiment:device:mobile", n_units=250, n_baseline=240),
)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from insights import load_file

    rng = np.random.default_rng(6)
    n = 600
    frame = pd.DataFrame({"user_id": [f"uid{i:05d}" for i in range(n)],
                          "device": rng.choice(["desktop", "mobile", "tablet"], n),
                          "variant": rng.choice(["control", "treatment"], n),
                          "converted": rng.integers(0, 2, n)})
    path = tmp_path_factory.mktemp("llm") / "units.parquet"
    frame.to_parquet(path, index=False)
    return load_file(path).with_roles(variant="variant", dimensions=("device",))


@pytest.fixture(scope="module")
def server() -> Iterator:
    with running_server() as srv:
        yield srv


def config(server, **kw: object) -> LLMConfig:
    values = {"api_key": KEY, "base_url": server.base_url, "model": "test-model", "timeout": 5.0,
              "max_retries": 0, **kw}
    return LLMConfig(**values)  # type: ignore[arg-type]


def test_good_answer_is_used_and_the_request_carries_no_rows(ds, server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server.play(("answer", faithful))
    out = phrase_insights(ds, FINDINGS, config(server))
    assert [p.source for p in out.insights] == ["llm", "llm"] and out.notice == "" and out.n_llm == 2
    assert out.insights[0].text == FINDINGS[0].statement and out.model == "test-model"
    (req,) = server.requests
    body = req["body"]
    assert body["temperature"] == 0 and body["response_format"] == {"type": "json_object"}
    assert body["model"] == "test-model" and req["auth"] == f"Bearer {KEY}"
    assert body["messages"][0]["content"] == SYSTEM_PROMPT
    payload = json.loads(body["messages"][1]["content"])
    assert {c["name"] for c in payload["schema"]} == {"user_id", "device", "variant", "converted"}
    assert [f["key"] for f in payload["findings"]] == [f.key for f in FINDINGS]
    assert "uid0" not in body["messages"][1]["content"]  # no unit ids, no rows
    assert "SELECT" not in body["messages"][1]["content"]
    assert KEY not in caplog.text


def test_wrong_numbers_fall_back_for_that_finding_only(ds, server) -> None:
    server.play(("answer", partial(wrong_numbers, keys=(FINDINGS[1].key,))))
    out = phrase_insights(ds, FINDINGS, config(server))
    assert [p.source for p in out.insights] == ["llm", "template"]
    assert "99.99%" in out.insights[1].reason and out.insights[1].text == FINDINGS[1].statement
    assert out.notice.startswith("1 of 2 statements use the template wording")


def test_swapped_segment_falls_back(ds, server) -> None:
    def swapped(payload: dict) -> dict:
        out = faithful(payload)
        out["insights"][0]["text"] = out["insights"][0]["text"].replace("tablet", "desktop")
        return out

    server.play(("answer", swapped))
    out = phrase_insights(ds, FINDINGS, config(server))
    assert out.insights[0].source == "template" and "desktop" in out.insights[0].reason


def test_unknown_initiative_falls_back(ds, server) -> None:
    def cites(payload: dict) -> dict:
        out = faithful(payload)
        out["insights"][0]["initiative"] = "Project Phoenix"
        return out

    server.play(("answer", cites))
    out = phrase_insights(ds, FINDINGS, config(server))
    assert out.insights[0].source == "template" and "unknown initiative" in out.insights[0].reason


def test_initiative_from_the_docs_is_kept(ds, server, tmp_path) -> None:
    (tmp_path / "tablet.md").write_text("# Tablet redesign\n\nLaunch date: 2026-08-01\nWe redesigned tablets.\n")

    def cites(payload: dict) -> dict:
        assert payload["initiatives"][0]["title"] == "Tablet redesign"
        out = faithful(payload)
        out["insights"][0]["initiative"] = "Tablet redesign"
        out["insights"][0]["why"] = "The Tablet redesign aimed at tablet buyers."
        return out

    server.play(("answer", cites))
    out = phrase_insights(ds, FINDINGS, config(server), docs=tmp_path)
    assert out.insights[0].source == "llm" and out.insights[0].initiative == "Tablet redesign"


@pytest.mark.parametrize("script,notice", [
    ([("content", "this is not json {")], "not valid JSON"),
    ([("content", json.dumps({"answer": "no list"}))], "not valid JSON"),
    ([("refusal", "I can't help with that.")], "declined"),
    ([("content", "")], "empty answer"),
    ([("status", 500)], "HTTP 500"),
    ([("status", 401)], "rejected the API key"),
])
def test_bad_answers_end_in_template_statements_with_a_notice(ds, server, script, notice) -> None:
    server.play(*script)
    out = phrase_insights(ds, FINDINGS, config(server))
    assert [p.source for p in out.insights] == ["template", "template"]
    assert [p.text for p in out.insights] == [f.statement for f in FINDINGS]
    assert notice in out.notice and out.notice.startswith("Template statements are shown")


def test_server_error_is_retried_then_falls_back(ds, server) -> None:
    server.play(("status", 500))
    out = phrase_insights(ds, FINDINGS, config(server, max_retries=1))
    assert len(server.requests) == 2 and "HTTP 500" in out.notice


def test_rate_limit_then_success_uses_the_answer(ds, server) -> None:
    server.play(("status", 429), ("answer", faithful))
    out = phrase_insights(ds, FINDINGS, config(server, max_retries=2))
    assert len(server.requests) == 2 and out.n_llm == 2 and out.notice == ""


def test_rate_limit_without_retries_left_falls_back(ds, server) -> None:
    server.play(("status", 429))
    out = phrase_insights(ds, FINDINGS, config(server))
    assert "rate limiting" in out.notice and out.n_llm == 0


def test_slow_answer_past_the_timeout_falls_back_in_time(ds, server) -> None:
    server.play(("sleep", 3.0, ("answer", faithful)))
    start = time.perf_counter()
    out = phrase_insights(ds, FINDINGS, config(server, timeout=0.5))
    assert time.perf_counter() - start < 2.5
    assert "did not answer in time" in out.notice and out.n_llm == 0


def test_unreachable_endpoint_falls_back(ds) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = LLMConfig(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout=2.0, max_retries=0)
    out = phrase_insights(ds, FINDINGS, cfg)
    assert "could not be reached" in out.notice and out.n_llm == 0


def test_without_configuration_template_statements_are_used(ds) -> None:
    out = phrase_insights(ds, FINDINGS, None)
    assert out.n_llm == 0 and "OPENAI_API_KEY" in out.notice
    assert template_phrasing(FINDINGS).insights[0].headline == "device = tablet: lower converted"


def test_config_reads_secrets_before_environment_and_hides_the_key() -> None:
    env = {"OPENAI_API_KEY": "env-key", "INSIGHTS_LLM_MODEL": "env-model", "INSIGHTS_LLM_TIMEOUT": "7"}
    cfg = load_config({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1/"}, env=env)
    assert cfg is not None and cfg.api_key == KEY and cfg.model == "env-model" and cfg.timeout == 7.0
    assert cfg.base_url == "http://127.0.0.1:11434/v1" and KEY not in repr(cfg) and KEY not in str(cfg)
    assert load_config({}, env={}) is None and load_config({"OPENAI_API_KEY": "  "}, env={}) is None
    with pytest.raises(InsightsError, match="INSIGHTS_LLM_TIMEOUT"):
        load_config({"OPENAI_API_KEY": "k", "INSIGHTS_LLM_TIMEOUT": "soon"}, env={})
    client = make_client(cfg)
    assert client.timeout == 7.0 and client.max_retries == 2 and str(client.base_url).startswith(cfg.base_url)
