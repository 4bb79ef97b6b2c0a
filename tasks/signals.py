"""Worker signals: warm each pool process up so the first chat does not pay for building indexes."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_init

from tasks import runtime

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
