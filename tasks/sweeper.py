"""The deadline sweeper: a daemon thread in each worker's main process.

Every ``INTERVAL_S`` it claims overdue job deadlines (atomically, so several workers never claim the same
job) and sends ``eco2.chat.deadline`` for each; that task writes the ``timeout`` error if the job is still
running. It lives in the main process because pool processes come and go.
"""

from __future__ import annotations

import logging
import threading

from eco2.dispatch.celery_canvas import CeleryDispatcher
from tasks.runtime import celery_dispatcher

log = logging.getLogger(__name__)

INTERVAL_S = 1.0


class DeadlineSweeper:
    """Runs ``CeleryDispatcher.expire_due`` on an interval until stopped."""

    def __init__(self, dispatcher: CeleryDispatcher, interval_s: float = INTERVAL_S) -> None:
        self._dispatcher = dispatcher
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eco2-deadline-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current sweep."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                while self._dispatcher.expire_due() == 100:
                    pass  # a full batch: more may be due
            except Exception:
                log.warning("deadline sweep failed; retrying in %ss", self._interval_s, exc_info=True)


def start_sweeper() -> DeadlineSweeper:
    """A sweeper for this worker, from the environment's settings."""
    sweeper = DeadlineSweeper(celery_dispatcher())
    sweeper.start()
    return sweeper
