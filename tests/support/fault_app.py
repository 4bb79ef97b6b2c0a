"""A Celery app module for fault-injection tests: the real app, with a slow answer writer.

Start with ``celery -A tests.support.fault_app worker``. ``ECO2_TEST_ANSWER_PIECES`` pieces are
streamed ``ECO2_TEST_ANSWER_DELAY_S`` apart, so a test can kill the pool process mid-answer.
``ECO2_TEST_CHECKPOINT_DELAY_S`` delays every checkpoint save, so a round's continuation overtakes it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from eco2.adapters.checkpoint import make_checkpointer
from eco2.bootstrap import Container, bootstrap
from eco2.config import Settings
from tasks import app, runtime
from tests.fakes import ListWriter

__all__ = ["app"]

PIECES = [f"조각{n} " for n in range(int(os.environ.get("ECO2_TEST_ANSWER_PIECES", "60")))]


def _factory() -> Container:
    writer = ListWriter(PIECES, delay_s=float(os.environ.get("ECO2_TEST_ANSWER_DELAY_S", "0.05")))
    checkpointer = make_checkpointer(Settings.from_env().checkpoint_url)
    delay_s = float(os.environ.get("ECO2_TEST_CHECKPOINT_DELAY_S", "0"))
    if delay_s:
        save = checkpointer.put

        def slow_put(*args: Any, **kwargs: Any) -> Any:
            time.sleep(delay_s)
            return save(*args, **kwargs)

        checkpointer.put = slow_put  # type: ignore[method-assign]
    return bootstrap(
        scheduling=lambda _runner: runtime.celery_scheduling(),
        timeout_errors=(SoftTimeLimitExceeded,),
        writer=writer,
        checkpointer=checkpointer,
    )


runtime.set_factory(_factory)
