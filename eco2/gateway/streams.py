"""A job's Redis stream as Server-Sent Events: one event per entry, resumable by stream ID."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import redis.asyncio as aredis

from eco2.domain.events import TERMINAL_TYPES, JobStatus, StreamKeys
from eco2.gateway.hub import StreamHub, follow

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
"""The shape of a Redis stream ID, as ``Last-Event-ID`` and ``?after=`` carry it (see ``valid_stream_id``)."""


def valid_stream_id(value: str) -> bool:
    """Whether Redis accepts ``value`` as a stream ID: two 64-bit unsigned parts. One it refuses would fail
    the hub's shared read for every stream of the process."""
    if not STREAM_ID.match(value):
        return False
    ms, seq = value.split("-")
    return int(ms) < 2**64 and int(seq) < 2**64


RETRY_MS = 2000
"""How long a browser's EventSource waits before reconnecting (it then sends Last-Event-ID)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode(entry_id: str, fields: Mapping[str, str]) -> bytes:
    """One SSE event: ``id`` the stream ID, ``event`` the entry's type, ``data`` its fields as JSON."""
    data = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    return f"id: {entry_id}\nevent: {fields.get('type', 'message')}\ndata: {data}\n\n".encode()


async def job_exists(client: aredis.Redis, keys: StreamKeys) -> bool:
    """Whether anything of the job is in Redis (its snapshot or its stream)."""
    return bool(await client.exists(keys.snapshot, keys.events))


async def events(
    client: aredis.Redis, hub: StreamHub, keys: StreamKeys, after: str, heartbeat_s: float
) -> AsyncIterator[bytes]:
    """The job's events after ``after``, then ends with its terminal event; a comment while idle.

    A job that has already ended is read with one ``XRANGE`` and the response ends (a client resuming after
    the terminal event gets nothing more, instead of a connection that never ends). A running one is
    followed through the process's hub (one ``XREAD`` for every open stream).
    """
    yield f"retry: {RETRY_MS}\n\n".encode()
    status = await client.hget(keys.snapshot, "status")
    if status is not None and _text(status) in (JobStatus.DONE.value, JobStatus.ERROR.value):
        ended: list[tuple[Any, dict[Any, Any]]] = await client.xrange(keys.events, min=f"({after}", max="+")  # type: ignore[assignment]
        for entry_id, raw in ended:
            yield encode(_text(entry_id), {_text(k): _text(v) for k, v in raw.items()})
        return
    async for entry in follow(hub, keys.events, after, heartbeat_s):
        if entry is None:
            yield b": heartbeat\n\n"
            continue
        entry_id, fields = entry
        yield encode(entry_id, fields)
        if fields.get("type") in TERMINAL_TYPES:
            return
