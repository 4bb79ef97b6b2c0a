"""Faults an operator meets, each with real worker processes (issue 12): the job still ends, once, in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from bench.paced_model import running
from eco2.localrun import LocalRedis, Worker, free_port
from tasks.heartbeat import VISIBILITY_TIMEOUT_S
from tests.conftest import both_brokers, worker_env
from tests.integration.test_metrics_e2e import sample, scrape
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hanging_intent_model() -> Iterator[str]:
    """A model whose intent call takes 15 s (streamed answers are quick)."""
    with running("--intent-ms", "15000", "--first-token-ms", "10", "--token-ms", "1", "--tokens", "5") as url:
        yield url


def test_the_deadline_counts_from_acceptance_even_when_the_first_step_hangs(
    redis_url: str, tmp_path: Path, hanging_intent_model: str
) -> None:
    env = worker_env(
        redis_url,
        tmp_path / "state",
        ECO2_JOB_TIMEOUT_S="5",
        ECO2_LLM_PROVIDER="auto",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=hanging_intent_model,
    )
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
        job_id = f"hang-{uuid.uuid4().hex[:8]}"
        sent = time.monotonic()
        Celery(broker=redis_url).send_task(
            "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat"
        )
        entries = collect(redis.Redis.from_url(redis_url), job_id, timeout_s=30)
        ended_after = time.monotonic() - sent
    data = terminal(entries)
    assert (data["_type"], data["code"]) == ("error", "timeout")
    # 5 s from acceptance plus the sweeper's half-second beat; counted from the first round it was 20 s.
    assert ended_after < 10, f"ended {ended_after:.1f}s after it was sent under a 5 s limit"


def test_a_job_id_sent_twice_while_its_job_runs_runs_once(worker: Worker, module_redis_url: str) -> None:
    # Two messages with one job_id, back to back: the second is refused, the first streams undisturbed.
    client = redis.Redis.from_url(module_redis_url)
    backend = Celery(broker=module_redis_url)
    job_id = f"twice-{uuid.uuid4().hex[:8]}"
    for message in ("페트병 어떻게 버려?", "건전지 어떻게 버려?"):
        backend.send_task("eco2.chat.process", kwargs={"job_id": job_id, "message": message}, queue="eco2.chat")
    collect(client, job_id)
    time.sleep(1)  # anything the second message could still write would be here by now
    entries = [{k.decode(): v.decode() for k, v in f.items()} for _id, f in client.xrange(f"eco2:chat:{job_id}:events")]
    assert [e["type"] for e in entries].count("done") == 1
    assert [e.get("stage") for e in entries if e["type"] == "stage"].count("intent") == 2  # started, completed
    assert "reset" not in [e["type"] for e in entries]
    assert terminal(entries)["answer"] == "".join(e["delta"] for e in entries if e["type"] == "token")
    refused = [f for _id, f in client.xrange("eco2:chat:rejected") if f[b"job_id"] == job_id.encode()]
    assert [f[b"code"] for f in refused] == [b"duplicate_job_id"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("session_id", "s\ud800", "invalid_session_id"),
        ("user_id", "u\udfff", "invalid_user_id"),
        ("message", "페트병\ud83d", "invalid_message"),
    ],
)
def test_a_lone_surrogate_in_any_field_is_an_error_event_not_a_hung_job(
    worker: Worker, module_redis_url: str, field: str, value: str, code: str
) -> None:
    client = redis.Redis.from_url(module_redis_url)
    job_id = f"surrogate-{uuid.uuid4().hex[:8]}"
    kwargs = {"job_id": job_id, "message": "페트병", field: value}
    Celery(broker=module_redis_url).send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    data = terminal(collect(client, job_id, timeout_s=20))
    assert (data["_type"], data["code"]) == ("error", code)


@pytest.fixture(scope="module")
def hanging_model() -> Iterator[str]:
    """A model that accepts every call and answers none within the worker's timeouts."""
    with running("--intent-ms", "60000", "--first-token-ms", "60000") as url:
        yield url


def test_a_hanging_model_opens_its_breaker_and_chats_are_then_answered_offline_at_once(
    redis_url: str, tmp_path: Path, hanging_model: str
) -> None:
    env = worker_env(
        redis_url,
        tmp_path / "state",
        ECO2_LLM_PROVIDER="auto",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=hanging_model,
        ECO2_OPENAI_TIMEOUT_S="1",
        ECO2_OPENAI_INTENT_TIMEOUT_S="1",
        ECO2_BREAKER_FAIL_MAX="3",
        ECO2_BREAKER_RESET_S="300",
    )
    client = redis.Redis.from_url(redis_url)
    backend = Celery(broker=redis_url)

    def chat() -> tuple[dict[str, Any], float]:
        job_id = f"hung-{uuid.uuid4().hex[:8]}"
        sent = time.monotonic()
        backend.send_task("eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat")
        return terminal(collect(client, job_id, timeout_s=30)), time.monotonic() - sent

    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
        first, took = chat()  # intent (1 s) and answer (1 s) time out: two failures
        assert first["_type"] == "done"
        assert first["provider"] == {"intent": "offline", "answer": "offline"}
        assert took >= 1.5
        chat()  # the third failure opens the breaker (shared by every process through Redis)
        for _ in range(3):
            data, took = chat()
            assert data["provider"] == {"intent": "offline", "answer": "offline"}
            assert took < 2, f"a chat waited {took:.1f}s on a model whose breaker is open"
    doctor = subprocess.run(
        [sys.executable, "-m", "eco2.cli.main", "doctor", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    (row,) = [r for r in map(json.loads, doctor.stdout.splitlines()) if r["name"] == "openai"]
    assert row["breaker"] == "open"
    assert doctor.returncode == 1  # an open breaker is unhealthy


@pytest.fixture(scope="module")
def steady_model() -> Iterator[str]:
    """Answers in about 3 s: the first token after 100 ms, then 60 tokens 50 ms apart."""
    with running("--intent-ms", "50", "--first-token-ms", "100", "--token-ms", "50", "--tokens", "60") as url:
        yield url


@both_brokers
def test_chats_of_a_killed_worker_are_answered_whole_soon_after_a_replacement_starts(
    redis_url: str, broker_url: str, tmp_path: Path, steady_model: str
) -> None:
    env = worker_env(
        redis_url,
        tmp_path / "state",
        broker_url,
        ECO2_LLM_PROVIDER="auto",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=steady_model,
    )
    # RabbitMQ requeues a dead consumer's messages at once; Redis's come back after the visibility timeout.
    bound_s = 30 if broker_url.startswith("redis") else 10
    client = redis.Redis.from_url(redis_url)
    backend = Celery(broker=broker_url)
    one = ["--processes", "1"]
    jobs = [f"killed-{n}-{uuid.uuid4().hex[:6]}" for n in range(6)]
    doomed = Worker(env, pool=None, concurrency=None, launcher="eco2", extra_args=one, log_path=tmp_path / "a.log")
    try:
        for job_id in jobs:
            backend.send_task("eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat")
        deadline = time.monotonic() + 30
        while not all(int(client.hget(f"eco2:chat:{j}:snapshot", "answer_len") or 0) for j in jobs):  # mid-answer
            assert time.monotonic() < deadline, "the answers never started"
            time.sleep(0.05)
        doomed.proc.kill()  # SIGKILL of the worker's main process: no shutdown, no acknowledgement
        doomed.proc.wait(10)
        cut = {j for j in jobs if client.hget(f"eco2:chat:{j}:snapshot", "status") != b"done"}
        assert len(cut) >= 4, "too few answers were still streaming when the worker was killed"
    finally:
        doomed.stop()
    with Worker(env, pool=None, concurrency=None, launcher="eco2", extra_args=one, log_path=tmp_path / "b.log"):
        replacement_started = time.monotonic()
        for job_id in jobs:
            entries = collect(client, job_id, timeout_s=40)
            assert time.monotonic() - replacement_started < bound_s, f"{job_id} took too long"
            assert [e["type"] for e in entries].count("done") == 1, job_id
            if job_id in cut:
                assert "reset" in [e["type"] for e in entries]  # the answer was written again from its start
            data = terminal(entries)
            text = ""
            for entry in entries:
                text = "" if entry["type"] == "reset" else text + entry.get("delta", "")
            assert data["answer"] == text
            assert data["answer"].count("<") == 60, job_id  # the whole answer, every token


@pytest.fixture(scope="module")
def slow_model() -> Iterator[str]:
    """A long answer: 26 s of tokens, longer than the broker's visibility timeout."""
    with running("--intent-ms", "50", "--first-token-ms", "100", "--token-ms", "200", "--tokens", "130") as url:
        yield url


def test_a_live_workers_long_answer_is_never_handed_to_another_worker(
    redis_url: str, tmp_path: Path, slow_model: str
) -> None:
    env = worker_env(
        redis_url, tmp_path / "state", ECO2_LLM_PROVIDER="auto", OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=slow_model
    )
    assert VISIBILITY_TIMEOUT_S < 26  # the answer outlives the timeout: only the heartbeat keeps it
    client = redis.Redis.from_url(redis_url)
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
        job_id = f"long-{uuid.uuid4().hex[:8]}"
        Celery(broker=redis_url).send_task(
            "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat"
        )
        entries = collect(client, job_id, timeout_s=60)
    kinds = [e["type"] for e in entries]
    assert "reset" not in kinds  # no second worker started the answer over
    assert [e.get("stage") for e in entries if e["type"] == "stage"].count("answer") == 2  # started, completed
    assert terminal(entries)["answer"].count("<") == 130


def test_a_redis_restart_with_the_documented_persistence_loses_no_chat(tmp_path: Path, steady_model: str) -> None:
    with LocalRedis() as server:  # append-only, fsync every second, no eviction: docs/deploy.md
        env = worker_env(
            server.url,
            tmp_path / "state",
            ECO2_LLM_PROVIDER="auto",
            OPENAI_API_KEY="sk-t",
            OPENAI_BASE_URL=steady_model,
        )
        client = redis.Redis.from_url(server.url)
        jobs = [f"restart-{n}-{uuid.uuid4().hex[:6]}" for n in range(6)]
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
            backend = Celery(broker=server.url)
            for job_id in jobs:
                backend.send_task(
                    "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat"
                )
            deadline = time.monotonic() + 30
            while not all(int(client.hget(f"eco2:chat:{j}:snapshot", "answer_len") or 0) for j in jobs):
                assert time.monotonic() < deadline, "the answers never started"
                time.sleep(0.05)
            server.restart()
            for job_id in jobs:
                entries = collect(client, job_id, timeout_s=90)
                assert [e["type"] for e in entries].count("done") == 1, job_id
                text = ""
                for entry in entries:
                    text = "" if entry["type"] == "reset" else text + entry.get("delta", "")
                assert terminal(entries)["answer"] == text
                assert text.count("<") == 60, job_id


def test_a_redis_that_comes_back_empty_is_counted_and_logged(tmp_path: Path) -> None:
    port = free_port()
    with LocalRedis() as server:
        env = worker_env(server.url, tmp_path / "state", ECO2_METRICS_PORT=str(port))
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log") as worker:
            time.sleep(1)  # the watchdog has seen the marker
            server.restart(keep_data=False)  # a Redis without persistence, restarted
            deadline = time.monotonic() + 30
            while sample(scrape(port), "eco2_redis_data_lost_total") < 1:
                assert time.monotonic() < deadline, "nobody noticed that Redis lost its data"
                time.sleep(0.5)
            assert "Redis lost its data" in worker.log_path.read_text(errors="replace")
