"""The production checkpointer: LangGraph's Postgres saver shared by separate processes ("hosts")."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from eco2.adapters.checkpoint import make_checkpointer
from eco2.localrun import Worker
from tests.conftest import worker_env
from tests.support import postgres
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    if not postgres.available():
        pytest.fail("PostgreSQL binaries missing: .ci/setup installs the postgresql package")
    server = postgres.LocalPostgres()
    try:
        yield server.url
    finally:
        server.stop()


def test_two_workers_on_different_state_dirs_share_one_session(
    pg: str, redis_url: str, tmp_path: os.PathLike[str]
) -> None:
    session = f"pg-{uuid.uuid4().hex[:8]}"
    backend = Celery(broker=redis_url)
    db = redis.Redis.from_url(redis_url)
    answers = []
    # Two workers that share nothing but Redis and Postgres, one after the other: like two hosts.
    for n, message in enumerate(["페트병 어떻게 버려?", "그럼 캔은?"]):
        env = worker_env(redis_url, os.path.join(tmp_path, f"host{n}"), ECO2_CHECKPOINT_URL=pg)
        with Worker(env, concurrency=1):
            job = f"{session}-{n}"
            backend.send_task(
                "eco2.chat.process",
                kwargs={"job_id": job, "message": message, "session_id": session},
                queue="eco2.chat",
            )
            answers.append(terminal(collect(db, job)))
    assert [a["_type"] for a in answers] == ["done", "done"]
    assert answers[1]["intent"] == "waste"  # the follow-up saw turn one, stored by the other "host"
    saver = make_checkpointer(pg)
    state = saver.get_tuple({"configurable": {"thread_id": session, "checkpoint_ns": ""}})
    assert state is not None
    turns = state.checkpoint["channel_values"]["turns"]
    assert [t["user"] for t in turns] == ["페트병 어떻게 버려?", "그럼 캔은?"]
    # Only what resuming needs is kept: the session's latest checkpoint (two turns made four and more).
    assert len(list(saver.list({"configurable": {"thread_id": session}}))) == 1
