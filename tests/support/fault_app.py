"""A Celery app module for fault-injection tests: the real app, with a slow answer writer.

Start with ``celery -A tests.support.fault_app worker``. ``ECO2_TEST_ANSWER_PIECES`` pieces are
streamed ``ECO2_TEST_ANSWER_DELAY_S`` apart, so a test can kill the pool process mid-answer.
"""

from __future__ import annotations

import os

from celery.exceptions import SoftTimeLimitExceeded

from eco2.bootstrap import Container, bootstrap
from tasks import app, runtime
from tests.fakes import ListWriter

__all__ = ["app"]

PIECES = [f"조각{n} " for n in range(int(os.environ.get("ECO2_TEST_ANSWER_PIECES", "60")))]


def _factory() -> Container:
    writer = ListWriter(PIECES, delay_s=float(os.environ.get("ECO2_TEST_ANSWER_DELAY_S", "0.05")))
    return bootstrap(dispatcher=runtime.celery_dispatcher(), timeout_errors=(SoftTimeLimitExceeded,), writer=writer)


runtime.set_factory(_factory)
