"""The visibility heartbeat: a live worker keeps its messages, a dead worker's come back within seconds.

With the Redis broker a delivered message sits in kombu's ``unacked`` hash, scored in ``unacked_index`` by
when it was delivered; any worker's periodic sweep puts back on its queue a message older than the
``visibility_timeout``. Celery's advice is a timeout longer than any task, an hour here, so when a worker's
main process was killed its in-flight chats waited an hour for their messages, long after their deadline.

Instead every worker main process re-scores the messages it holds (received, running, or waiting for their
ETA) every ``HEARTBEAT_S``: they never look abandoned while it lives, so the timeout can be short
(``VISIBILITY_TIMEOUT_S``, a few heartbeats) and a killed worker's messages are redelivered within
``VISIBILITY_TIMEOUT_S`` + one sweep (``RESTORE_INTERVAL_S``). What a redelivered message re-runs is safe:
admission and continuations check the job's state, a finished job is never run again, and an answer being
rewritten starts with ``reset``. Only the Redis transport keeps this index; with an AMQP broker there is
nothing to do (the broker requeues a dead consumer's messages itself).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery
from celery.worker import state

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
"""How often a worker re-scores the messages it holds."""
VISIBILITY_TIMEOUT_S = 20
"""How long an unacknowledged message may go without a heartbeat before any worker redelivers it."""
RESTORE_INTERVAL_S = 5
"""How often each worker sweeps ``unacked_index`` for abandoned messages."""


def held_tags() -> list[str]:
    """Delivery tags of every message this worker holds: received, running or waiting for its ETA."""
    for _ in range(3):
        try:
            requests = list(state.requests.values())
            break
        except RuntimeError:  # the consumer changed the dict meanwhile: read it again
            continue
    else:
        return []
    tags = []
    for request in requests:
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if isinstance(tag, str | bytes):
            tags.append(tag.decode() if isinstance(tag, bytes) else tag)
    return tags


class VisibilityHeartbeat:
    """A daemon thread of the worker's main process that keeps its messages' ``unacked_index`` scores fresh."""

    def __init__(self, app: Celery, interval_s: float = HEARTBEAT_S) -> None:
        self._app = app
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._connection: Any = None
        self._thread = threading.Thread(target=self._run, name="eco2-visibility-heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current beat."""
        self._stop.set()

    def beat(self) -> int:
        """Re-score the held messages now; returns how many were refreshed (0 off the Redis transport)."""
        tags = held_tags()
        if not tags:
            return 0
        if self._connection is None:
            self._connection = self._app.connection_for_write()
        channel = self._connection.default_channel
        index = getattr(channel, "unacked_index_key", None)
        if index is None:
            return 0  # not kombu's Redis transport: the broker tracks its consumers itself
        now = time.time()
        # XX: only messages still unacknowledged; one restored or acknowledged meanwhile stays gone.
        updated = channel.client.zadd(index, dict.fromkeys(tags, now), xx=True, ch=True)
        return int(updated or 0)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.beat()
            except Exception:
                log.warning("visibility heartbeat failed; retrying in %ss", self._interval_s, exc_info=True)
                self._reset()

    def _reset(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                log.debug("closing the heartbeat's broker connection failed", exc_info=True)
