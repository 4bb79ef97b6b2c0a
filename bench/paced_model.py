"""An OpenAI-compatible chat server paced like a real model, for load benchmarks and streaming tests.

Run it as its own process (``python -m bench.paced_model --port 0``; it prints its base URL) so its event
loop does not share a GIL with what it measures. It speaks what the official SDK (and langchain-openai) sends
to ``/v1/chat/completions``: a structured-output call (``response_format`` or ``tools``) answers the intent
JSON after ``--intent-ms``; a streamed call sends server-sent events (chunked, keep-alive) with the first
token after ``--first-token-ms`` and then ``--tokens`` tokens ``--token-ms`` apart, on an absolute schedule
so a busy loop does not stretch the answer; any other call answers a short text after the first-token delay.

Every streamed token carries a marker unique to its request and position, ``<R:I>``, and the server
records when it wrote each one (epoch seconds), so a reader can compute each token's lag. ``GET /stats``
returns ``{"sent": {R: [t0, t1, ...]}, "requests": {...}}``; ``POST /reset`` clears them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<(\d+):(\d+)>")
"""How a reader finds the markers in the text it received: (request, token index)."""

INTENT_RULES = (
    ("날씨", "weather"),
    ("비 와", "weather"),
    ("소파", "bulk_waste"),
    ("캐릭터", "character"),
    ("안녕", "general"),
)
WORDS = ("페트병은", "라벨을", "떼고", "내용물을", "비운", "뒤", "투명", "페트", "전용", "수거함에")


@dataclass(frozen=True, slots=True)
class Pace:
    """How the model answers."""

    intent_s: float = 0.3
    first_token_s: float = 0.4
    token_s: float = 0.033
    tokens: int = 60


@dataclass
class Stats:
    """What the server sent, for the reader's lag computation."""

    sent: dict[int, list[float]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=lambda: {"intent": 0, "stream": 0, "other": 0})


def intents_for(text: str) -> list[dict[str, Any]]:
    """The structured intent answer: keyword rules, ``waste`` otherwise."""
    found = list(dict.fromkeys(intent for word, intent in INTENT_RULES if word in text)) or ["waste"]
    return [{"intent": intent, "confidence": 0.9} for intent in found]


def last_user(body: dict[str, Any]) -> str:
    """The text of the last user message of a Chat Completions request body."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content)
    return ""


class PacedModel:
    """The server: one coroutine per connection, keep-alive, chunked streaming."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.stats = Stats()
        self._ids = itertools.count(1)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                await self.route(method, path, raw, writer)
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, raw: bytes, writer: asyncio.StreamWriter) -> None:
        if method == "GET" and path.startswith("/stats"):
            await self._json(writer, 200, {"sent": self.stats.sent, "requests": self.stats.requests})
        elif method == "POST" and path.startswith("/reset"):
            self.stats = Stats()
            await self._json(writer, 200, {"ok": True})
        elif method == "POST" and path.endswith("/chat/completions"):
            await self.completion(json.loads(raw or b"{}"), writer)
        else:
            await self._json(writer, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    async def completion(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        rid = next(self._ids)
        model = str(body.get("model", "paced"))
        if body.get("response_format") or body.get("tools"):
            self.stats.requests["intent"] += 1
            await asyncio.sleep(self.pace.intent_s)
            content = json.dumps({"intents": intents_for(last_user(body))}, ensure_ascii=False)
            await self._json(writer, 200, _completion(rid, model, content))
        elif body.get("stream"):
            self.stats.requests["stream"] += 1
            await self.stream(rid, model, writer)
        else:
            self.stats.requests["other"] += 1
            await asyncio.sleep(self.pace.first_token_s)
            await self._json(writer, 200, _completion(rid, model, f"짧은 답변 <{rid}:0>"))

    async def stream(self, rid: int, model: str, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        sent: list[float] = []
        self.stats.sent[rid] = sent
        loop = asyncio.get_running_loop()
        start = loop.time() + self.pace.first_token_s
        for n in range(self.pace.tokens):
            delay = start + n * self.pace.token_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            delta = {"content": f"{WORDS[n % len(WORDS)]}<{rid}:{n}> "}
            if n == 0:
                delta["role"] = "assistant"
            _chunk(writer, _event(rid, model, delta, None))
            sent.append(time.time())
            await writer.drain()
        _chunk(writer, _event(rid, model, {}, "stop") + b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _json(self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
        head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
        writer.write(head.encode() + data)
        await writer.drain()


def _completion(rid: int, model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _event(rid: int, model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    chunk = {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()


def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def serve(port: int, pace: Pace) -> None:
    model = PacedModel(pace)
    server = await asyncio.start_server(model.handle, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def running(*flags: str) -> Iterator[str]:
    """This server as its own process (``flags`` as on its command line); yields its base URL (``.../v1``)."""
    from eco2.localrun import stop_process

    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "bench.paced_model", "--port", "0", *flags]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        stop_process(proc, 5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--intent-ms", type=float, default=300)
    parser.add_argument("--first-token-ms", type=float, default=400)
    parser.add_argument("--token-ms", type=float, default=33)
    parser.add_argument("--tokens", type=int, default=60)
    args = parser.parse_args(argv)
    pace = Pace(args.intent_ms / 1000, args.first_token_ms / 1000, args.token_ms / 1000, args.tokens)
    asyncio.run(serve(args.port, pace))


if __name__ == "__main__":
    main()
