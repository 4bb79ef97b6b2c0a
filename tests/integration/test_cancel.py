"""Cancelling chats, end to end: a running answer stops within a second and its model stream is closed, a
queued job ends at once, the session moves on (issue 13). Real worker, gateway, paced model, Redis."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery

from bench.paced_model import running
from eco2.localrun import GatewayServer, Worker
from tests.conftest import worker_env
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]

ROOT = Path(__file__).resolve().parents[2]
TOKENS = 60


@pytest.fixture(scope="module")
def model() -> Iterator[str]:
    """Answers of 6 s: the first token after 100 ms, then 60 tokens 100 ms apart."""
    with running("--intent-ms", "50", "--first-token-ms", "100", "--token-ms", "100", "--tokens", str(TOKENS)) as url:
        yield url


@pytest.fixture(scope="module")
def stack(module_redis_url: str, model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Worker]]:
    env = worker_env(
        module_redis_url,
        tmp_path_factory.mktemp("state"),
        ECO2_LLM_PROVIDER="auto",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=model,
    )
    logs = tmp_path_factory.mktemp("logs")
    with (
        Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=logs / "worker.log") as worker,
        GatewayServer(env, log_path=logs / "gateway.log") as gateway,
    ):
        yield gateway.url, worker


def start(gateway: str, **body: str) -> str:
    response = httpx.post(f"{gateway}/v1/chats", json={"message": "페트병 어떻게 버려?", **body})
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def wait_tokens(client: redis.Redis, job_id: str, count: int, timeout_s: float = 30) -> str:
    """The answer text once it holds ``count`` tokens."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = "".join(
            f.get(b"delta", b"").decode()
            for _i, f in client.xrange(f"eco2:chat:{job_id}:events")
            if f[b"type"] == b"token"
        )
        if text.count("<") >= count:
            return text
        time.sleep(0.02)
    raise AssertionError(f"{job_id} never streamed {count} tokens")


def sent_by_model(model: str, answer: str) -> int:
    """How many tokens the model wrote for the request whose markers ``answer`` holds."""
    request = re.search(r"<([^:>]+):\d+>", answer)
    assert request is not None, answer
    return len(httpx.get(f"{model.removesuffix('/v1')}/stats").json()["sent"][request.group(1)])


def test_a_running_answer_stops_within_a_second_and_its_model_stream_is_closed(
    stack: tuple[str, Worker], module_redis_url: str, model: str
) -> None:
    gateway, _worker = stack
    client = redis.Redis.from_url(module_redis_url)
    job_id = start(gateway)
    answer = wait_tokens(client, job_id, 5)
    cancelled_at = time.time()
    reply = httpx.post(f"{gateway}/v1/chats/{job_id}/cancel")
    assert reply.json() == {"job_id": job_id, "cancelled": True, "outcome": "cancelled"}
    entries = collect(client, job_id, timeout_s=10)
    end = terminal(entries)
    assert end["_type"] == "error"
    assert end["code"] == "cancelled"
    assert int(entries[-1]["ts"]) / 1000 - cancelled_at < 1.0
    time.sleep(1.5)  # the worker's answer loop has stopped: nothing more reaches the stream or the model
    assert client.xlen(f"eco2:chat:{job_id}:events") == len(entries)
    sent = sent_by_model(model, answer)
    assert sent < TOKENS, "the model kept streaming to a cancelled job"
    time.sleep(0.5)
    assert sent_by_model(model, answer) == sent
    snapshot = httpx.get(f"{gateway}/v1/chats/{job_id}").json()
    assert snapshot["status"] == "error"
    # A finished job cannot be cancelled again.
    assert httpx.post(f"{gateway}/v1/chats/{job_id}/cancel").json()["outcome"] == "finished"
    assert httpx.post(f"{gateway}/v1/chats/no-such-job/cancel").status_code == 404


def test_the_cancel_task_by_name_ends_a_running_job_and_the_session_moves_on(
    stack: tuple[str, Worker], module_redis_url: str
) -> None:
    gateway, _worker = stack
    client = redis.Redis.from_url(module_redis_url)
    session = f"cancel-{uuid.uuid4().hex[:6]}"
    first = start(gateway, session_id=session)
    second = start(gateway, session_id=session, message="캔은?")
    wait_tokens(client, first, 3)
    backend = Celery(broker=module_redis_url)
    backend.send_task("eco2.chat.cancel", kwargs={"job_id": first}, queue="eco2.chat")
    first_end = terminal(collect(client, first, timeout_s=10))
    assert first_end["code"] == "cancelled"
    second_entries = collect(client, second, timeout_s=30)
    assert terminal(second_entries)["_type"] == "done"  # the session was handed on, not held to its lease


def test_a_job_waiting_behind_its_session_is_cancelled_at_once_and_the_session_skips_it(
    stack: tuple[str, Worker], module_redis_url: str
) -> None:
    gateway, _worker = stack
    client = redis.Redis.from_url(module_redis_url)
    session = f"queued-{uuid.uuid4().hex[:6]}"
    running = start(gateway, session_id=session)
    waiting = start(gateway, session_id=session, message="유리병은?")
    third = start(gateway, session_id=session, message="캔은?")
    wait_tokens(client, running, 2)
    assert httpx.post(f"{gateway}/v1/chats/{waiting}/cancel").json()["cancelled"] is True
    end = terminal(collect(client, waiting, timeout_s=5))
    assert end["code"] == "cancelled"
    assert terminal(collect(client, running, timeout_s=30))["_type"] == "done"
    assert terminal(collect(client, third, timeout_s=30))["_type"] == "done"
    # The cancelled job's message was taken without a rejection: it is not a reused job_id.
    rejected = [
        json.dumps({k.decode(): v.decode() for k, v in f.items()}) for _i, f in client.xrange("eco2:chat:rejected")
    ]
    assert not [r for r in rejected if waiting in r]


def test_double_texting_reject_and_interrupt_over_http(stack: tuple[str, Worker], module_redis_url: str) -> None:
    gateway, _worker = stack
    client = redis.Redis.from_url(module_redis_url)
    session = f"dt-{uuid.uuid4().hex[:6]}"
    first = start(gateway, session_id=session)
    wait_tokens(client, first, 3)
    busy = start(gateway, session_id=session, message="캔은?", multitask_strategy="reject")
    end = terminal(collect(client, busy, timeout_s=5))
    assert end["code"] == "session_busy"
    assert client.hget(f"eco2:chat:{first}:snapshot", "status") == b"running"  # the first goes on
    sent = time.time()
    newer = start(gateway, session_id=session, message="아니 유리병은?", multitask_strategy="interrupt")
    first_entries = collect(client, first, timeout_s=10)
    assert terminal(first_entries)["code"] == "cancelled"
    assert int(first_entries[-1]["ts"]) / 1000 - sent < 1.0
    assert terminal(collect(client, newer, timeout_s=30))["_type"] == "done"
