"""Notices a Redis that came back empty, so an operator learns that accepted jobs were lost.

Without persistence a Redis restart loses every queued message, stream, deadline and session at once, and
nothing in eco2 could tell: the deadlines lived in the same Redis, so the lost jobs simply never got an
event. Every worker main process keeps a marker key (``{prefix}:epoch``, no expiry) and looks at it every
``INTERVAL_S``: when the marker it saw is gone (or another worker had to write a new one), the data went
with it. That is logged as an error, counted in ``eco2_redis_data_lost_total`` (alert ``Eco2RedisDataLost``)
and the marker is written again. docs/deploy.md says which persistence keeps this from happening.
"""

from __future__ import annotations

import logging
import threading
import uuid

import redis

from eco2.ports.metrics import MetricsPort

log = logging.getLogger(__name__)

INTERVAL_S = 5.0


class RedisWatchdog:
    """Checks the marker on an interval until stopped."""

    def __init__(self, client: redis.Redis, prefix: str, metrics: MetricsPort, interval_s: float = INTERVAL_S) -> None:
        self._client = client
        self.key = f"{prefix}:epoch"
        self._metrics = metrics
        self._interval_s = interval_s
        self._seen: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eco2-redis-watchdog", daemon=True)

    def start(self) -> None:
        """Check now and from then on."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current check."""
        self._stop.set()

    def check(self) -> bool:
        """Whether Redis lost its data since the last check (the first check only learns the marker)."""
        fresh = uuid.uuid4().hex
        self._client.set(self.key, fresh, nx=True)
        raw = self._client.get(self.key)
        current = raw.decode() if isinstance(raw, bytes) else raw
        lost = self._seen is not None and current != self._seen
        self._seen = current
        if lost:
            log.error(
                "Redis lost its data (the marker %s was gone): queued jobs, streams, deadlines and sessions of "
                "that moment are lost; run Redis with append-only persistence (docs/deploy.md)",
                self.key,
            )
            self._metrics.track_redis_data_lost()
        return lost

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except redis.RedisError:
                log.debug("Redis unreachable for the data-loss check; trying again", exc_info=True)
            if self._stop.wait(self._interval_s):
                return
