"""Two messages of one session arriving together are processed one after the other, in order."""

from __future__ import annotations

import time
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
    # Arrival order is what a session keeps (docs/contract.md): wait until the first message has arrived.
    deadline = time.monotonic() + 10
    while not mclient.exists(f"eco2:chat:{first}:snapshot"):
        assert time.monotonic() < deadline
        time.sleep(0.005)
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


def test_messages_of_a_session_sent_back_to_back_run_one_after_the_other(
    worker: Worker, backend: Celery, mclient: redis.Redis
) -> None:
    # Three messages per session, 30 sessions, all sent at once: however the workers' threads interleave,
    # no two jobs of a session overlap and every one of them ends.
    sessions: dict[str, list[str]] = {f"fifo-{n}-{uuid.uuid4().hex[:6]}": [] for n in range(30)}
    for session, jobs in sessions.items():
        for turn, message in enumerate(("페트병 어떻게 버려?", "그럼 캔은?", "유리병은?")):
            job_id = f"{session}-{turn}"
            jobs.append(job_id)
            kwargs = {"job_id": job_id, "message": message, "session_id": session}
            backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    for jobs in sessions.values():
        streams = [collect(mclient, job_id, timeout_s=120) for job_id in jobs]
        assert all(terminal(s)["_type"] == "done" for s in streams)
        spans = sorted((int(s[0]["ts"]), int(s[-1]["ts"])) for s in streams)
        assert all(spans[n][1] <= spans[n + 1][0] for n in range(len(spans) - 1)), spans


def test_one_worker_runs_a_sessions_messages_in_the_order_they_left_the_queue(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # One worker process: its consumer takes messages off the queue one by one and records each session
    # job's arrival before any task starts, so however its threads interleave, each session keeps its order.
    from tests.conftest import worker_env

    env = worker_env(redis_url, tmp_path_factory.mktemp("state"))
    client = redis.Redis.from_url(redis_url)
    sessions = [f"order-{n}-{uuid.uuid4().hex[:6]}" for n in range(20)]
    with Worker(env, pool=None, concurrency=None, launcher="eco2", extra_args=["--processes", "1"]):
        backend = Celery(broker=redis_url)
        for session in sessions:
            for turn, message in enumerate(("페트병 어떻게 버려?", "그럼 캔은?", "유리병은?")):
                kwargs = {"job_id": f"{session}-{turn}", "message": message, "session_id": session}
                backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
        for session in sessions:
            spans = [collect(client, f"{session}-{turn}", timeout_s=120) for turn in range(3)]
            starts = [int(s[0]["ts"]) for s in spans]
            ends = [int(s[-1]["ts"]) for s in spans]
            assert ends[0] <= starts[1], session
            assert ends[1] <= starts[2], session


def test_messages_numbered_with_session_seq_run_in_that_order_across_workers(
    worker: Worker, backend: Celery, mclient: redis.Redis
) -> None:
    # `eco2 worker` runs a process per core, each taking messages off the queue. Half the sessions send
    # their three messages in order, half in reverse (as two producers racing would put them on the queue):
    # with session_seq every session runs 1, 2, 3, one after the other.
    sessions = [f"seq-{n}-{uuid.uuid4().hex[:6]}" for n in range(20)]
    for n, session in enumerate(sessions):
        turns = (1, 2, 3) if n % 2 else (3, 2, 1)
        for seq in turns:
            kwargs = {"job_id": f"{session}-{seq}", "message": "페트병 어떻게 버려?", "session_id": session}
            backend.send_task("eco2.chat.process", kwargs={**kwargs, "session_seq": seq}, queue="eco2.chat")
    for session in sessions:
        spans = [collect(mclient, f"{session}-{seq}", timeout_s=120) for seq in (1, 2, 3)]
        assert all(terminal(s)["_type"] == "done" for s in spans), session
        starts = [int(s[0]["ts"]) for s in spans]
        ends = [int(s[-1]["ts"]) for s in spans]
        assert ends[0] <= starts[1], (session, starts, ends)
        assert ends[1] <= starts[2], (session, starts, ends)
