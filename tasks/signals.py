"""Worker signals: warm each pool process up so the first chat does not pay for building indexes."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from tasks import runtime
from tasks.sweeper import DeadlineSweeper

log = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Build this pool process's container (classifier, retriever, checkpointer) right after fork."""
    runtime.reset()
    try:
        runtime.container()
    except Exception:
        # A broken dependency is reported by the first task that needs it, with a clear error event.
        log.exception("eco2 container could not be built at start-up")


_sweeper: DeadlineSweeper | None = None


@worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    """Sweep job deadlines from the worker's main process."""
    global _sweeper  # noqa: PLW0603 - one sweeper per worker process
    _sweeper = runtime.start_sweeper()


@worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
