"""The Insights page's LLM toggle and report downloads, with AppTest against a local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest

from tests.conftest import app_test
from tests.llm_server import faithful, running_server, wrong_numbers


@pytest.fixture
def server(monkeypatch) -> Iterator:
    with running_server() as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-apptest-secret")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("INSIGHTS_LLM_MAX_RETRIES", "0")
        yield srv


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_llm_toggle_words_statements_and_falls_back_quietly(server, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_LLM_MODEL", "apptest-good")
    at = app_test()
    at.run()
    assert not at.exception and at.title[0].value == "Insights"
    assert not at.toggle(key="insights_llm").value and not server.requests  # template by default, no call
    template = [m.value for m in at.markdown if m.value.startswith(("Users", "After", "Treatment"))]
    at.toggle(key="insights_llm").set_value(True).run()
    assert not at.exception and len(server.requests) == 1
    assert _texts(at).count("**About ") == 5  # every card carries the model's headline
    assert all(f"Exact statement: {t}" in _texts(at) for t in template)
    assert "template wording" not in _texts(at)
    at.run()
    assert len(server.requests) == 1  # cached per findings + model

    payload_keys = []
    server.play(("answer", lambda p: (payload_keys.extend(f["key"] for f in p["findings"]),
                                      wrong_numbers(p, keys=tuple(payload_keys[:1])))[1]))
    monkeypatch.setenv("INSIGHTS_LLM_MODEL", "apptest-wrong")
    at.run()
    assert not at.exception and len(server.requests) == 1
    assert _texts(at).count("**About ") == 4
    assert "1 of 5 statements use the template wording" in _texts(at)
    assert "sk-apptest-secret" not in _texts(at)


def test_endpoint_failure_shows_template_statements_with_a_notice(server, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_LLM_MODEL", "apptest-down")
    server.play(("status", 500))
    at = app_test()
    at.run()
    at.toggle(key="insights_llm").set_value(True).run()
    assert not at.exception and not at.error
    assert "Template statements are shown: the endpoint answered with HTTP 500." in _texts(at)
    assert "**About " not in _texts(at)


def test_toggle_is_disabled_without_a_key_and_reports_are_offered(monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    at = app_test()
    at.run()
    assert not at.exception and at.toggle(key="insights_llm").disabled
    buttons = at.get("download_button")
    assert len(buttons) == 2


def test_good_answer_payload_reaches_the_page(server, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_LLM_MODEL", "apptest-payload")
    seen: list[dict] = []
    server.play(("answer", partial(lambda acc, p: (acc.append(p), faithful(p))[1], seen)))
    at = app_test()
    at.run()
    at.toggle(key="insights_llm").set_value(True).run()
    assert not at.exception and len(seen) == 1
    assert {d["title"] for d in seen[0]["initiatives"]} >= {"Smart search"}
    assert all("rows" not in f and "sql" not in f for f in seen[0]["findings"])
