"""Reading job streams the way an external gateway does: plain redis-py, no eco2 imports."""

from __future__ import annotations

import json
import time
from typing import Any

import redis


def events_key(job_id: str, prefix: str = "eco2") -> str:
    """The public stream key of a job."""
    return f"{prefix}:chat:{job_id}:events"


def collect(client: redis.Redis, job_id: str, timeout_s: float = 60, prefix: str = "eco2") -> list[dict[str, str]]:
    """All entries of the job's stream up to its terminal event (fails the test on timeout)."""
    key = events_key(job_id, prefix)
    last = "0-0"
    out: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = client.xread({key: last}, count=1000, block=500)
        for _key, entries in reply or []:
            for entry_id, raw in entries:
                last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                fields = {
                    (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                    for k, v in raw.items()
                }
                fields["_id"] = last
                out.append(fields)
                if fields["type"] in ("done", "error"):
                    return out
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s; got {[e['type'] for e in out]}")


def terminal(entries: list[dict[str, str]]) -> dict[str, Any]:
    """The terminal event's decoded data, with its type under ``_type``."""
    last = entries[-1]
    data: dict[str, Any] = json.loads(last["data"])
    data["_type"] = last["type"]
    return data


def followed_text(entries: list[dict[str, str]]) -> str:
    """The answer a token-following reader ends with (applying ``reset``)."""
    text = ""
    for entry in entries:
        if entry["type"] == "reset":
            text = ""
        elif entry["type"] == "token":
            text += entry["delta"]
    return text
