"""Keeps the checkpointer small: only what resuming needs, and no thread of a conversation long over.

LangGraph's savers keep every checkpoint they are given: after 14 turns one session thread held 37 rows,
and every job without a session left a thread behind for good. What eco2 resumes from is only a thread's
latest checkpoint (a turn's continuation, the next turn of its session). So when a job ends:

- a job without a session (thread ``job:{id}``) is never resumed again: its thread is deleted;
- a session's thread keeps only its latest checkpoint (per namespace) and its pending writes, and is noted
  in ``{prefix}:threads`` (a sorted set by last activity);
- a few session threads idle for longer than ``ECO2_SESSION_TTL_S`` are deleted, claimed atomically so
  each is deleted by one worker. The work is spread over the jobs that end, with no scheduler of its own.

The Postgres saver prunes itself (``prune(..., strategy="keep_latest")``); the SQLite saver has no prune,
so its two tables are pruned here in one transaction. The graph has no ``DeltaChannel``, so a latest
checkpoint never depends on the rows before it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from langgraph.checkpoint.base import BaseCheckpointSaver

log = logging.getLogger(__name__)

EXPIRE_BATCH = 10
"""Idle session threads one ending job deletes at most."""

_CLAIM_IDLE = """
local idle = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, thread in ipairs(idle) do redis.call('ZREM', KEYS[1], thread) end
return idle
"""

_SQLITE_KEEP_LATEST = (
    "DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id NOT IN ("
    " SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? GROUP BY checkpoint_ns)"
)


def prune(saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
    """Keep only the thread's latest checkpoint per namespace, with its pending writes."""
    try:
        saver.prune([thread_id], strategy="keep_latest")
        return
    except NotImplementedError:
        pass
    conn = getattr(saver, "conn", None)
    if conn is None or type(saver).__name__ != "SqliteSaver":
        return  # an in-memory saver lives as long as its process
    with saver.lock:  # type: ignore[attr-defined]  # SqliteSaver serialises its connection with this lock
        conn.execute("BEGIN")
        try:
            for table in ("writes", "checkpoints"):  # writes first: the subquery reads checkpoints
                conn.execute(_SQLITE_KEEP_LATEST.format(table=table), (thread_id, thread_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class CheckpointRetention:
    """Decides what a checkpointer keeps once a job has ended (see the module docstring)."""

    def __init__(
        self,
        saver: BaseCheckpointSaver[Any],
        client: redis.Redis | None,
        prefix: str = "eco2",
        session_ttl_s: float = 86400.0,
    ) -> None:
        self._saver = saver
        self._client = client
        self.key = f"{prefix}:threads"
        self._session_ttl_s = session_ttl_s
        self._claim = client.register_script(_CLAIM_IDLE) if client is not None else None

    def ended(self, thread_id: str, session: bool) -> None:
        """A job of ``thread_id`` ended: drop what no resume will read. Never raises (logs instead)."""
        try:
            if not session:
                self._saver.delete_thread(thread_id)
                return
            prune(self._saver, thread_id)
            if self._client is not None:
                self._client.zadd(self.key, {thread_id: time.time()})
                self.expire_idle()
        except Exception:
            log.warning("could not trim the checkpoints of thread %s", thread_id, exc_info=True)

    def expire_idle(self, limit: int = EXPIRE_BATCH) -> list[str]:
        """Delete up to ``limit`` session threads idle for longer than the session TTL; returns them."""
        if self._claim is None:
            return []
        raw = self._claim(keys=[self.key], args=[time.time() - self._session_ttl_s, limit])
        threads = [t.decode() if isinstance(t, bytes) else str(t) for t in raw or []]
        for thread_id in threads:
            self._saver.delete_thread(thread_id)
        if threads:
            log.info("deleted %d session threads idle for over %g s", len(threads), self._session_ttl_s)
        return threads
