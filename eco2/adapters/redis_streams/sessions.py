"""Redis implementation of the session queue (one Lua script, so admit/release are atomic)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import redis

from eco2.errors import StreamError
from eco2.ports.sessions import Admission

_SCRIPT = resources.files("eco2.adapters.redis_streams").joinpath("sessions.lua").read_text("utf-8")


class RedisSessionQueue:
    """Implements ``SessionQueuePort`` with a lease key, an arrival order and the waiting jobs' kwargs."""

    def __init__(self, client: redis.Redis, prefix: str = "eco2", queue_ttl_s: int = 86400) -> None:
        self._prefix = prefix
        self._queue_ttl_s = queue_ttl_s
        self._script = client.register_script(_SCRIPT)

    def _keys(self, session_id: str) -> list[str]:
        base = f"{self._prefix}:session:{session_id}"
        return [
            f"{base}:active",
            f"{base}:order",
            f"{base}:waiting",
            f"{base}:arrivals",
            f"{base}:seqs",
            f"{base}:last_seq",
        ]

    def _call(self, session_id: str, args: list[str | int]) -> Any:
        try:
            return self._script(keys=self._keys(session_id), args=args)
        except redis.RedisError as exc:
            raise StreamError(f"session queue failed: {type(exc).__name__}") from exc

    def arrived(self, session_id: str, job_id: str, seq: int | None = None) -> None:
        """Record that the job's message was received: the session runs its jobs in this order."""
        self._call(session_id, ["arrived", job_id, "", 1, self._queue_ttl_s, _seq(seq), 0])

    def admit(
        self,
        session_id: str,
        job_id: str,
        kwargs: Mapping[str, Any],
        lease_s: float,
        seq: int | None = None,
        hold: bool = True,
    ) -> Admission:
        """Run now, or wait; may hand back a waiting job whose predecessor's lease expired."""
        payload = json.dumps(dict(kwargs), ensure_ascii=False, sort_keys=True)
        args: list[str | int] = ["admit", job_id, payload, int(lease_s * 1000), self._queue_ttl_s, _seq(seq)]
        run_now, promoted, *ahead = self._call(session_id, [*args, int(hold)])
        if run_now == 2:
            return Admission(run_now=False, held=True)
        return Admission(
            run_now=bool(run_now),
            promoted=json.loads(promoted) if promoted else None,
            ahead=tuple(i.decode() if isinstance(i, bytes) else str(i) for i in ahead),
        )

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """Hand the session to the next waiting job."""
        return _kwargs(self._call(session_id, ["release", job_id, "", int(lease_s * 1000), self._queue_ttl_s, "", 0]))

    def forget(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """Drop a job that will never run; returns the next waiting job if the session is idle."""
        return _kwargs(self._call(session_id, ["forget", job_id, "", int(lease_s * 1000), self._queue_ttl_s, "", 0]))


def _seq(seq: int | None) -> str:
    return "" if seq is None else str(seq)


def _kwargs(raw: Any) -> Mapping[str, Any] | None:
    if not raw:
        return None
    loaded: dict[str, Any] = json.loads(raw)
    return loaded
