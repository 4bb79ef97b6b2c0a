"""A local OpenAI Responses API (``POST /v1/responses``) with the hosted ``web_search`` tool's output shape.

It answers like the real service: ``Authorization: Bearer <key>`` is checked (401 ``invalid_api_key``
otherwise, with the key masked in the message as OpenAI does), the body must name ``model``, ``input`` and a
``web_search`` tool (400 ``invalid_request_error`` otherwise), and a completed response carries a
``web_search_call`` item (with ``action.sources`` only when ``include`` asks for them) and an assistant
``message`` whose ``output_text`` cites its sources inline as ``([site](url))`` markdown links, each with a
``url_citation`` annotation spanning that link.

Tests script what the next requests get with :meth:`FakeResponses.script`: ``ok``, ``empty`` (no message),
``uncited`` (an answer without a search or citations), ``http:<status>[:<code>]`` (an error body),
``slow:<seconds>``, ``not_json``, ``no_output`` (JSON without ``output``) or ``failed`` (``status:
failed``). Requests are recorded (``requests``), headers (lower-cased names) included, so tests can check what was sent.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.scripted_server import ScriptedServer

PAGES = (
    ("환경부 분리배출 안내", "https://www.me.go.kr/home/web/main.do"),
    ("한국환경공단 순환자원정보센터", "https://www.recycling-info.or.kr/"),
    ("서울시 재활용 배출 요령", "https://news.seoul.go.kr/env/archives/1"),
)
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 429: "requests", 500: "server_error", 503: "server_error"}  # fmt: skip


def _masked(key: str) -> str:
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "***"


def answer_output(query: str, include_sources: bool) -> list[dict[str, Any]]:
    """The ``output`` of a completed web-search response: the search call, then the cited answer."""
    sentences = (
        f"'{query}'에 대한 최신 안내에 따르면 내용물을 비우고 재질별로 나눠 배출해야 합니다.",
        "지자체마다 수거 요일과 배출 방법이 조금씩 다릅니다.",
        "자세한 품목별 기준은 공식 안내를 확인하세요.",
    )
    text, annotations = "", []
    for sentence, (title, url) in zip(sentences, PAGES, strict=True):
        site = url.split("/")[2].removeprefix("www.")
        link = f"([{site}]({url}?utm_source=openai))"
        text += sentence + " "
        start = len(text)
        text += link + " "
        annotations.append(
            {
                "type": "url_citation",
                "start_index": start,
                "end_index": start + len(link),
                "url": f"{url}?utm_source=openai",
                "title": title,
            }
        )
    action: dict[str, Any] = {"type": "search", "query": query}
    if include_sources:
        action["sources"] = [{"type": "url", "url": url} for _, url in PAGES] + [
            {"type": "url", "url": "https://www.keco.or.kr/"}
        ]
    return [
        {"type": "web_search_call", "id": "ws_fake1", "status": "completed", "action": action},
        {
            "type": "message",
            "id": "msg_fake1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text.strip(), "annotations": annotations, "logprobs": []}],
        },
    ]


def response_body(body: dict[str, Any], output: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    """A whole ``Response`` object around ``output``, echoing the request like the real service."""
    return {
        "id": "resp_fake1",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": {"code": "server_error", "message": "The model failed."} if status == "failed" else None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": None,
        "model": body.get("model"),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": body.get("tools", []),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 300,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 120,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 420,
        },
        "user": None,
        "metadata": {},
    }


class _Handler(BaseHTTPRequestHandler):
    server: FakeResponses

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw or b"{}")
        self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if self.path != "/v1/responses":
            self._error(404, f"Invalid URL (POST {self.path})", "unknown_url")
            return
        auth = self.headers.get("Authorization", "")
        if auth != f"Bearer {self.server.api_key}":
            given = auth.removeprefix("Bearer ")
            self._error(401, f"Incorrect API key provided: {_masked(given)}.", "invalid_api_key")
            return
        for field in ("model", "input"):
            if not body.get(field):
                self._error(400, f"Missing required parameter: '{field}'.", "missing_required_parameter")
                return
        if not any(tool.get("type") == "web_search" for tool in body.get("tools", [])):
            self._error(400, "This test server only answers web_search requests.", "invalid_value")
            return
        self._scripted(self.server.next_mode(), body)

    def _scripted(self, behaviour: str, body: dict[str, Any]) -> None:
        query = str(body["input"])
        include_sources = "web_search_call.action.sources" in body.get("include", [])
        kind, _, arg = behaviour.partition(":")
        if kind == "slow":
            time.sleep(float(arg))
            kind = "ok"
        if kind == "http":
            status, _, code = arg.partition(":")
            self._error(int(status), "Scripted failure.", code or None)
        elif kind == "not_json":
            self._raw(200, b"<html>upstream proxy error</html>")
        elif kind == "no_output":
            self._json(200, {"id": "resp_fake1", "object": "response", "status": "completed"})
        elif kind == "failed":
            self._json(200, response_body(body, [], status="failed"))
        elif kind == "empty":
            self._json(200, response_body(body, answer_output(query, include_sources)[:1]))
        elif kind == "uncited":
            message = dict(answer_output(query, include_sources)[1])
            message["content"] = [{"type": "output_text", "text": "검색 없이 답한 내용이에요.", "annotations": []}]
            self._json(200, response_body(body, [message]))
        else:
            self._json(200, response_body(body, answer_output(query, include_sources)))

    def _error(self, status: int, message: str, code: str | None) -> None:
        kind = "insufficient_quota" if code == "insufficient_quota" else _ERROR_TYPES.get(status, "server_error")
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._raw(status, json.dumps(payload, ensure_ascii=False).encode())

    def _raw(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass


class FakeResponses(ScriptedServer):
    """Run with ``with FakeResponses(api_key) as server:``; ``server.base_url`` is the ``OPENAI_BASE_URL``.

    ``script()`` queues behaviours for the next requests (then ``ok``).
    """

    def __init__(self, api_key: str = "sk-test-fake-responses-key-0001") -> None:
        super().__init__(_Handler)
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        """The base URL to give the OpenAI client (it appends ``/responses``)."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:  # type: ignore[override]
        """Remember one request (a JSON body, not query parameters)."""
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
