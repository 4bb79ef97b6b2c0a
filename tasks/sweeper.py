"""The deadline sweeper: a daemon thread in each worker's main process.

Every ``INTERVAL_S`` it claims overdue job deadlines (atomically, as a lease, so several workers never
claim the same job at once) and ends those jobs with a ``timeout`` error if they are still running. It
works in the main process, not through a task, so it still fires when every pool slot is busy (e.g. the
slot streaming the overrunning answer), and it needs no graph or model: only Redis.
"""

from __future__ import annotations

import logging
import threading

from eco2.adapters.redis_streams.deadlines import RedisDeadlines
from eco2.orchestrator.ending import JobEnding

log = logging.getLogger(__name__)

INTERVAL_S = 0.5
BATCH = 100


class DeadlineSweeper:
    """Expires overdue jobs on an interval until stopped."""

    def __init__(self, deadlines: RedisDeadlines, ending: JobEnding, interval_s: float = INTERVAL_S) -> None:
        self._deadlines = deadlines
        self._ending = ending
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eco2-deadline-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current sweep."""
        self._stop.set()

    def sweep(self) -> int:
        """Expire every job that is due now; returns how many were claimed."""
        claimed = 0
        while True:
            due = self._deadlines.claim_due(BATCH)
            for job in due:
                outcome = self._ending.expire(job)
                log.log(logging.WARNING if outcome == "expired" else logging.DEBUG, "job %s: %s", job.job_id, outcome)
            claimed += len(due)
            if len(due) < BATCH:
                return claimed

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.sweep()
            except Exception:
                log.warning("deadline sweep failed; retrying in %ss", self._interval_s, exc_info=True)
