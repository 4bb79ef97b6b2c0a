"""Two messages of one session arriving together are processed one after the other, in order."""

from __future__ import annotations

import uuid

import pytest
import redis
from celery import Celery

from eco2.localrun import Worker
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]


def test_concurrent_messages_of_one_session_are_serialised(
    worker: Worker, backend: Celery, mclient: redis.Redis
) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    first, second = f"a-{session}", f"b-{session}"
    backend.send_task(
        "eco2.chat.process",
        kwargs={"job_id": first, "message": "페트병 어떻게 버려?", "session_id": session},
        queue="eco2.chat",
    )
    backend.send_task(
        "eco2.chat.process",
        kwargs={"job_id": second, "message": "그럼 캔은?", "session_id": session},
        queue="eco2.chat",
    )
    a = collect(mclient, first)
    b = collect(mclient, second)
    assert terminal(a)["_type"] == "done"
    assert terminal(b)["_type"] == "done"
    assert terminal(b)["intent"] == "waste"  # the follow-up saw the first turn
    # The second job started only after the first one ended.
    assert int(b[0]["ts"]) >= int(a[-1]["ts"])
