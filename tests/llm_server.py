"""A local OpenAI-compatible chat server on 127.0.0.1 for tests: stdlib http.server in a thread.

Each POST /v1/chat/completions takes the next behaviour from ``server.script`` (the last one repeats):
``("answer", fn)`` answers with ``fn(payload)`` as JSON content, where ``payload`` is the user message's JSON;
``("content", text)`` answers with raw content; ``("refusal", text)``; ``("status", code)``;
``("sleep", seconds, behaviour)``. Every request body is kept in ``server.requests``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = tuple[Any, ...]


def faithful(payload: dict[str, Any]) -> dict[str, Any]:
    """An answer that rewords nothing dangerous: the template sentence, a headline and a why."""
    return {"insights": [{"key": f["key"], "headline": f"About {f['metric_label']}",
                          "text": f["template"], "why": "It moves the north-star metric.", "initiative": None}
                         for f in payload["findings"]]}


def wrong_numbers(payload: dict[str, Any], keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Like :func:`faithful`, but the first percentage of the chosen findings (all by default) is changed."""
    out = faithful(payload)
    for item in out["insights"]:
        if keys is None or item["key"] in keys:
            item["text"] = re.sub(r"\d+\.\d+%", "99.99%", item["text"], count=1)
    return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if code == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        srv = self.server
        with srv.lock:
            srv.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            behaviour = srv.script[min(len(srv.requests) - 1, len(srv.script) - 1)]
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        self._behave(behaviour, body)

    def _behave(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
        kind = behaviour[0]
        if kind == "sleep":
            time.sleep(behaviour[1])
            self._behave(behaviour[2], body)
            return
        if kind == "status":
            self._send(behaviour[1], {"error": {"message": f"status {behaviour[1]}", "type": "server_error"}})
            return
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if kind == "answer":
            payload = json.loads(body["messages"][-1]["content"])
            message["content"] = json.dumps(behaviour[1](payload))
        elif kind == "content":
            message["content"] = behaviour[1]
        elif kind == "refusal":
            message["refusal"] = behaviour[1]
        self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                         "model": body.get("model", "test"),
                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Behaviour] = [("answer", faithful)]
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def play(self, *script: Behaviour) -> None:
        with self.lock:
            self.script = list(script)
            self.requests.clear()


@contextmanager
def running_server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


AnswerFn = Callable[[dict[str, Any]], dict[str, Any]]
