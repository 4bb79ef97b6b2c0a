"""Failure behaviour with real processes: no deadlock on one slot, bad input, a killed pool process."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu import Connection

from eco2.localrun import Worker
from tests.conftest import both_brokers, worker_env
from tests.support.streams import collect, followed_text, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]


def new_job() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@both_brokers
def test_one_process_with_one_slot_completes_ten_concurrent_chats(
    redis_url: str, broker_url: str, db: redis.Redis, tmp_path: os.PathLike[str]
) -> None:
    env = worker_env(redis_url, tmp_path, broker_url)
    backend = Celery(broker=broker_url)
    jobs = [new_job() for _ in range(10)]
    with Worker(env, concurrency=1):
        messages = ["페트병 어떻게 버려?", "소파 버리는 법", "안녕", "오늘 날씨", "캔 버리는 법"]
        for n, job_id in enumerate(jobs):
            backend.send_task(
                "eco2.chat.process", kwargs={"job_id": job_id, "message": messages[n % 5]}, queue="eco2.chat"
            )
        results = [terminal(collect(db, job_id, timeout_s=90)) for job_id in jobs]
    assert [r["_type"] for r in results] == ["done"] * 10


BAD_INPUTS = [
    ({"job_id": 12345, "message": "숫자 id"}, None),
    ({"message": "id 없음"}, None),
    ({"job_id": "bad-empty", "message": "   "}, "empty_message"),
    ({"job_id": "bad-long", "message": "가" * 4001}, "message_too_long"),
    ({"job_id": "bad-unknown", "message": "hi", "priority": "high"}, "unknown_field"),
    (
        {"job_id": "bad-loc", "message": "근처", "user_location": {"latitude": 200, "longitude": 1}},
        "invalid_location",
    ),
    ({"job_id": "bad-type", "message": ["list"]}, "invalid_message"),
]


def test_bad_input_gets_an_error_or_a_clean_rejection_and_the_worker_goes_on(
    redis_url: str, db: redis.Redis, tmp_path: os.PathLike[str]
) -> None:
    env = worker_env(redis_url, tmp_path)
    backend = Celery(broker=redis_url)
    with Worker(env, concurrency=1) as worker:
        for kwargs, _code in BAD_INPUTS:
            backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
        backend.send_task("eco2.chat.process", args=["positional"], kwargs={}, queue="eco2.chat")
        _publish_raw(redis_url, b"{this is not json", "application/json")
        _publish_raw(redis_url, b"\x80\x04K\x01.", "application/x-python-serialize")
        good = new_job()
        backend.send_task("eco2.chat.process", kwargs={"job_id": good, "message": "페트병"}, queue="eco2.chat")
        assert terminal(collect(db, good))["_type"] == "done"
        for kwargs, code in BAD_INPUTS:
            if code is None:
                continue
            entries = collect(db, str(kwargs["job_id"]), timeout_s=10)
            assert [e["type"] for e in entries] == ["error"]
            assert json.loads(entries[0]["data"])["code"] == code
        rejected = [entry[b"code"].decode() for _id, entry in db.xrange("eco2:chat:rejected")]
        # Bad kwargs are the contract's rejections; the two messages no JSON-only worker can decode are the
        # consumer's (recorded too, not only logged).
        assert sorted(rejected) == [
            "disallowed_content",
            "invalid_job_id",
            "missing_job_id",
            "positional_args",
            "undecodable_message",
        ]
        assert worker.proc.poll() is None


def _publish_raw(url: str, body: bytes, content_type: str) -> None:
    """A message no JSON-only worker can decode, with valid Celery protocol-2 headers."""
    task_id = str(uuid.uuid4())
    with Connection(url) as conn:
        conn.Producer().publish(
            body,
            exchange="",
            routing_key="eco2.chat",
            content_type=content_type,
            content_encoding="binary" if content_type != "application/json" else "utf-8",
            headers={"lang": "py", "task": "eco2.chat.process", "id": task_id, "root_id": task_id},
            properties={"correlation_id": task_id},
        )


@pytest.fixture
def slow_worker(redis_url: str, broker_url: str, tmp_path: os.PathLike[str]) -> Iterator[Worker]:
    env = worker_env(redis_url, tmp_path, broker_url, ECO2_TEST_ANSWER_PIECES="60", ECO2_TEST_ANSWER_DELAY_S="0.05")
    with Worker(env, app="tests.support.fault_app", concurrency=1) as worker:
        yield worker


@both_brokers
def test_killing_the_process_writing_an_answer_still_ends_with_one_done(
    slow_worker: Worker, broker_url: str, db: redis.Redis
) -> None:
    job_id = new_job()
    Celery(broker=broker_url).send_task(
        "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병 어떻게 버려?"}, queue="eco2.chat"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = db.hget(f"eco2:chat:{job_id}:snapshot", "answer") or b""
        if len(answer.decode()) > 20:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the answer never started streaming")
    (child,) = slow_worker.children()
    os.kill(child, signal.SIGKILL)
    entries = collect(db, job_id, timeout_s=60)
    types = [e["type"] for e in entries]
    assert types.count("done") == 1
    assert types[-1] == "done"
    assert "reset" in types
    expected = "".join(f"조각{n} " for n in range(60))
    assert followed_text(entries) == expected
    assert terminal(entries)["answer"] == expected
    assert [int(e["seq"]) for e in entries] == list(range(1, len(entries) + 1))


def test_a_job_that_overruns_its_deadline_ends_with_one_timeout_error(
    redis_url: str, db: redis.Redis, tmp_path: os.PathLike[str]
) -> None:
    env = worker_env(
        redis_url, tmp_path, ECO2_JOB_TIMEOUT_S="5", ECO2_TEST_ANSWER_PIECES="150", ECO2_TEST_ANSWER_DELAY_S="0.1"
    )
    with Worker(env, app="tests.support.fault_app", concurrency=1):
        job_id = new_job()
        started = time.monotonic()
        Celery(broker=redis_url).send_task(
            "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat"
        )
        entries = collect(db, job_id, timeout_s=30)
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # the answer task is still streaming: nothing may follow the terminal event
        after = db.xlen(f"eco2:chat:{job_id}:events")
    assert terminal(entries) == {"_type": "error", "code": "timeout", "message": terminal(entries)["message"]}
    assert 5 <= elapsed < 10
    assert after == len(entries)
    assert db.zcard("eco2:chat:deadlines") == 0


def test_a_round_that_overtakes_its_checkpoint_is_continued_once_it_is_saved(
    redis_url: str, db: redis.Redis, tmp_path: os.PathLike[str]
) -> None:
    """Rounds are sent before LangGraph saves the checkpoint; here every save takes 0.5 s, so once both pool
    processes are warm the continuation comes first and must wait (retry) instead of being dropped."""
    env = worker_env(
        redis_url,
        tmp_path,
        ECO2_TEST_CHECKPOINT_DELAY_S="0.5",
        ECO2_TEST_ANSWER_PIECES="5",
        ECO2_TEST_ANSWER_DELAY_S="0",
    )
    logs = Path(tmp_path) / "worker.log"
    backend = Celery(broker=redis_url)
    with Worker(env, app="tests.support.fault_app", concurrency=2, log_path=logs):
        # The first chat builds each pool process's container (seconds on a busy machine): no race yet.
        for _ in range(3):
            job_id = new_job()
            backend.send_task(
                "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병 어떻게 버려?"}, queue="eco2.chat"
            )
            entries = collect(db, job_id, timeout_s=30)
            assert terminal(entries)["_type"] == "done"
            assert terminal(entries)["answer"] == "".join(f"조각{n} " for n in range(5))
            assert [e["type"] for e in entries].count("done") == 1
    assert "ContinuationEarlyError" in logs.read_text(encoding="utf-8")  # it did overtake, and was retried


def test_a_pool_process_past_its_memory_bound_is_replaced_between_tasks_and_no_chat_is_lost(
    redis_url: str, db: redis.Redis, tmp_path: Path
) -> None:
    """ECO2_WORKER_MAX_MEMORY_MB reaches Celery: with a bound below any process's size, every task is
    the last of its process, and every chat still ends with its answer."""
    env = {**worker_env(redis_url, tmp_path), "ECO2_WORKER_MAX_MEMORY_MB": "1"}
    backend = Celery(broker=redis_url)
    jobs = [new_job() for _ in range(2)]
    with Worker(env, concurrency=2, log_path=tmp_path / "worker.log") as worker:
        for job_id in jobs:
            kwargs = {"job_id": job_id, "message": "캔 버리는 법"}
            backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
        results = [terminal(collect(db, job_id, timeout_s=120)) for job_id in jobs]
        # Every new pool process logs as ForkPoolWorker-<n>, n counting up (billiard's own notice of the
        # replacement goes to a logger Celery does not wire up).
        processes = set(re.findall(r"ForkPoolWorker-\d+", worker.log_path.read_text(errors="replace")))
    assert [r["_type"] for r in results] == ["done", "done"]
    assert len(processes) >= 6  # 2 at start; each chat is at least 3 tasks (entry, a subagent, continuation)
