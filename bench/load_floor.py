"""The floor of streaming work: one asyncio process that streams a model's answer into a job's stream.

It is what any chat worker must at least do per chat, and nothing else: take a job off a queue, stream
the model's answer (httpx), write the tokens into ``{prefix}:chat:{job}:events`` (redis.asyncio) with the
same coalescing window as eco2, and end the stream with ``done`` carrying the answer. No intent call, no
subagents, no checkpoint, no metrics. ``bench/bench_load.py`` measures eco2 next to it.

Jobs arrive as Celery messages (the backend's ``send_task``) on a Redis list, so both sides get the same
enqueue; the floor decodes the message body itself (protocol 2, JSON) and acknowledges nothing.

Run: ``python -m bench.load_floor --redis-url URL --model-url URL [--queue bench.floor] [--flush-ms 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from typing import Any

import httpx
import redis.asyncio as aioredis


def decode_job(raw: bytes) -> tuple[str, str]:
    """``(job_id, message)`` of a kombu message carrying a protocol-2 Celery task."""
    envelope = json.loads(raw)
    body = envelope["body"]
    if envelope.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    _args, kwargs, _embed = json.loads(body)
    return str(kwargs["job_id"]), str(kwargs["message"])


class Stream:
    """One job's writer: tokens buffered for at most ``window`` after the previous write, then one XADD."""

    def __init__(self, client: aioredis.Redis, key: str, window: float) -> None:
        self.client, self.key, self.window = client, key, window
        self.seq = 0
        self.pending: list[str] = []
        self.last_write = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.last: asyncio.Future[None] | None = None  # writes of one stream go out in order

    async def add(self, fields: dict[str, str]) -> None:
        self.seq += 1
        await self.client.xadd(self.key, {"seq": str(self.seq), "ts": str(time.time_ns() // 1_000_000), **fields})

    def token(self, delta: str) -> None:
        self.pending.append(delta)
        if self.timer is not None:
            return
        wait = self.last_write + self.window - time.monotonic()
        if wait <= 0:
            self._flush()  # the window since the last write has passed: no reason to hold the token
        else:
            self.timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def _flush(self) -> None:
        self.timer = None
        if self.pending:
            delta, self.pending = "".join(self.pending), []
            self.last_write = time.monotonic()
            self.last = asyncio.ensure_future(
                self._after(self.last, {"type": "token", "node": "answer", "delta": delta})
            )

    async def _after(self, previous: asyncio.Future[None] | None, fields: dict[str, str]) -> None:
        if previous is not None:
            await previous
        await self.add(fields)

    async def done(self, answer: str) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self._flush()
        if self.last is not None:
            await self.last
        await self.add({"type": "done", "data": json.dumps({"answer": answer}, ensure_ascii=False)})


async def stream_job(
    http: httpx.AsyncClient, client: aioredis.Redis, prefix: str, window: float, job_id: str, message: str
) -> None:
    stream = Stream(client, f"{prefix}:chat:{job_id}:events", window)
    parts: list[str] = []
    body = {"model": "paced", "stream": True, "messages": [{"role": "user", "content": message}]}
    try:
        async with http.stream("POST", "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk: dict[str, Any] = json.loads(line[6:])
                content = chunk["choices"][0]["delta"].get("content")
                if content:
                    parts.append(content)
                    stream.token(content)
        await stream.done("".join(parts))
    except Exception as exc:  # the floor reports a failure as eco2 would: an error event
        await stream.add({"type": "error", "data": json.dumps({"code": "internal_error", "message": repr(exc)})})


async def run(redis_url: str, model_url: str, queue: str, prefix: str, flush_ms: float) -> None:
    client = aioredis.Redis.from_url(redis_url, max_connections=512)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=model_url, timeout=60, limits=limits) as http:
        print("floor ready", flush=True)
        while True:
            popped = await client.brpop([queue], timeout=1)
            if popped is None:
                continue
            job_id, message = decode_job(popped[1])
            task = asyncio.create_task(stream_job(http, client, prefix, flush_ms / 1000, job_id, message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--model-url", required=True)
    parser.add_argument("--queue", default="bench.floor")
    parser.add_argument("--prefix", default="eco2")
    parser.add_argument("--flush-ms", type=float, default=20)
    args = parser.parse_args(argv)
    asyncio.run(run(args.redis_url, args.model_url, args.queue, args.prefix, args.flush_ms))


if __name__ == "__main__":
    main()
