"""Job deadlines in a Redis sorted set, swept by the workers: the safety net that ends lost jobs.

Why not a delayed Celery task per job: with the Redis broker every ETA task sits in a worker's memory
until due and costs a message per chat. Here a job costs one ``ZADD`` when it starts and one ``ZREM`` when
it ends; a sweeper in each worker claims overdue entries atomically (a lease, not a removal, so a sweeper
that dies after claiming does not lose them) and ends those jobs (``eco2.orchestrator.ending.JobEnding``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis

from eco2.adapters.redis_streams.flusher import Flusher, shared_flusher
from eco2.errors import StreamError
from eco2.ports.dispatch import JobRef

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""

CLAIM_LEASE_S = 60.0

log = logging.getLogger(__name__)


def _member(job: JobRef) -> str:
    return json.dumps(job.to_dict(), sort_keys=True, separators=(",", ":"))


class _Pending:
    """A deadline handed to the flusher thread (``Flushable``)."""

    __slots__ = ("due", "group", "member")

    def __init__(self, group: RedisDeadlines, member: str, due: float) -> None:
        self.group, self.member, self.due = group, member, due


class RedisDeadlines:
    """Schedules, cancels and claims job deadlines."""

    def __init__(self, client: redis.Redis, prefix: str = "eco2", flusher: Flusher | None = None) -> None:
        self._client = client
        self.key = f"{prefix}:chat:deadlines"
        self._claim = client.register_script(_CLAIM)
        self._flusher = flusher or shared_flusher()

    def schedule(self, job: JobRef, delay_s: float) -> None:
        """The job must have ended ``delay_s`` from now."""
        self._call(self._client.zadd, self.key, {_member(job): time.time() + delay_s})

    def schedule_soon(self, job: JobRef, delay_s: float) -> None:
        """As :meth:`schedule`, written by the process's flusher thread within a tick (with other jobs'
        deadlines and stream writes of that tick) instead of on the caller's path: a job registers its
        deadline before its first step, and that step should not wait for the write."""
        self._flusher.schedule(_Pending(self, _member(job), time.time() + delay_s), time.monotonic())

    def flush_many(self, targets: Sequence[_Pending]) -> None:
        """Write handed-over deadlines in one round trip (``FlushGroup``); a failed write is retried."""
        try:
            self._client.zadd(self.key, {t.member: t.due for t in targets})
        except redis.RedisError:
            log.warning("registering %d job deadlines failed; retrying in 1 s", len(targets), exc_info=True)
            for target in targets:
                self._flusher.schedule(target, time.monotonic() + 1.0)

    def cancel(self, job: JobRef) -> None:
        """The job ended: forget its deadline."""
        self._call(self._client.zrem, self.key, _member(job))

    # -- DeadlinePort ------------------------------------------------------------------------------
    def schedule_deadline(self, job: JobRef, delay_s: float) -> None:
        """Register the deadline off the caller's path (the flusher writes it); a sweeper ends the job then."""
        self.schedule_soon(job, delay_s)

    def cancel_deadline(self, job: JobRef) -> None:
        """Forget the deadline of an ended job."""
        self.cancel(job)

    def claim_due(self, limit: int = 100) -> list[JobRef]:
        """Overdue jobs, leased to the caller for ``CLAIM_LEASE_S`` (claimed again if not cancelled)."""
        now = time.time()
        raw = self._call(self._claim, keys=[self.key], args=[now, now + CLAIM_LEASE_S, limit])
        return [JobRef.from_dict(json.loads(m)) for m in raw or []]

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StreamError(f"deadline bookkeeping failed: {type(exc).__name__}") from exc
