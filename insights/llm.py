"""Configuration of the optional OpenAI-compatible endpoint and a lazily created client.

Settings come from a mapping (the UI passes values read from ``st.secrets``) and then from the environment:

``OPENAI_API_KEY``
    The key (local servers such as Ollama accept any non-empty text).
``OPENAI_BASE_URL``
    Endpoint, e.g. ``http://127.0.0.1:11434/v1`` for Ollama; empty means OpenAI itself.
``INSIGHTS_LLM_MODEL``
    Model name (default ``gpt-4o-mini``).
``INSIGHTS_LLM_TIMEOUT``
    Seconds per request (default 30).
``INSIGHTS_LLM_MAX_RETRIES``
    Retries on 408/409/429/5xx and connection errors (default 2).

The key is never logged, shown in a repr or written anywhere.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from insights.errors import InsightsError

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
ENV_KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "INSIGHTS_LLM_MODEL", "INSIGHTS_LLM_TIMEOUT",
            "INSIGHTS_LLM_MAX_RETRIES")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where and how to call the model.

    api_key
        Secret; excluded from ``repr`` and comparisons.
    base_url
        OpenAI-compatible endpoint ending in ``/v1``, or None for OpenAI.
    model
        Model name sent with each request.
    timeout
        Seconds per request.
    max_retries
        Retries the client makes on rate limits, server errors and timeouts.
    """

    api_key: str = field(repr=False, compare=False)
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def endpoint(self) -> str:
        """Where requests go, for display (never includes the key)."""
        return self.base_url or "https://api.openai.com/v1"

    @property
    def cache_key(self) -> tuple[str, str]:
        """What a cached LLM answer depends on besides its input: endpoint and model."""
        return (self.endpoint, self.model)


def _number(value: Any, name: str, kind: type) -> Any:
    try:
        out = kind(value)
    except (TypeError, ValueError) as exc:
        raise InsightsError("bad_llm_config", f"{name} must be a number, not {value!r}.") from exc
    if out < 0:
        raise InsightsError("bad_llm_config", f"{name} must not be negative.")
    return out


def load_config(values: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> LLMConfig | None:
    """The configured endpoint, or None when no API key is set.

    ``values`` (e.g. from ``st.secrets``) win over ``env`` (default ``os.environ``); keys are the variable
    names in the module docstring.
    """
    env = os.environ if env is None else env

    def get(name: str) -> Any:
        v = (values or {}).get(name)
        if v is None or v == "":
            v = env.get(name)
        return None if v is None or str(v).strip() == "" else v

    key = get("OPENAI_API_KEY")
    if key is None:
        return None
    timeout = get("INSIGHTS_LLM_TIMEOUT")
    retries = get("INSIGHTS_LLM_MAX_RETRIES")
    base = get("OPENAI_BASE_URL")
    return LLMConfig(
        api_key=str(key).strip(),
        base_url=str(base).strip().rstrip("/") if base else None,
        model=str(get("INSIGHTS_LLM_MODEL") or DEFAULT_MODEL).strip(),
        timeout=DEFAULT_TIMEOUT if timeout is None else _number(timeout, "INSIGHTS_LLM_TIMEOUT", float),
        max_retries=DEFAULT_MAX_RETRIES if retries is None else _number(retries, "INSIGHTS_LLM_MAX_RETRIES", int),
    )


def make_client(config: LLMConfig) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for ``config`` (the package is imported only when a client is made)."""
    import openai

    logger.debug("LLM client for %s, model %s", config.endpoint, config.model)
    return openai.OpenAI(api_key=config.api_key, base_url=config.base_url, timeout=config.timeout,
                         max_retries=config.max_retries)
