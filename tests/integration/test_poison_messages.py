"""Messages a worker cannot run are refused and recorded; the worker keeps serving (issue 12, item 1).

Raw messages go onto the queues the way any producer could put them there (kombu, no Celery client):
bodies that are not a protocol-2 triple, non-JSON and invalid UTF-8 bodies, pickle, headers of the wrong
type, unregistered task names, messages with no task header. Before the guard, the first of these ended the
worker ("Unrecoverable error") and every restarted worker died on it again.
"""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from kombu import Connection

from eco2.localrun import Worker, free_port
from tests.conftest import both_brokers, worker_env
from tests.integration.test_metrics_e2e import sample, scrape
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, both_brokers]

TASK = "eco2.chat.process"


def headers(task: str = TASK, **extra: Any) -> dict[str, Any]:
    return {"task": task, "id": str(uuid.uuid4()), **extra}


# (queue, body, content type, encoding, headers, expected reason, job_id the record should name)
POISON: list[tuple[str, Any, str, str, dict[str, Any] | None, str, str]] = [
    (
        "eco2.chat",
        '{"job_id": "poison-dict"}',
        "application/json",
        "utf-8",
        headers(),
        "malformed_message",
        "poison-dict",
    ),
    (
        "eco2.chat",
        '[[], {"job_id": "poison-pair", "message": "x"}]',
        "application/json",
        "utf-8",
        headers(),
        "malformed_message",
        "poison-pair",
    ),
    ("eco2.chat", '"hello"', "application/json", "utf-8", headers(), "malformed_message", ""),
    ("eco2.chat", "null", "application/json", "utf-8", headers(), "malformed_message", ""),
    ("eco2.chat", "[1, 2, 3]", "application/json", "utf-8", headers(), "malformed_message", ""),
    ("eco2.chat", "[[], [], {}]", "application/json", "utf-8", headers(), "malformed_message", ""),
    ("eco2.chat", "not json", "application/json", "utf-8", headers(), "undecodable_message", ""),
    ("eco2.chat", b"\xff\xfe\x00", "application/json", "binary", headers(), "undecodable_message", ""),
    (
        "eco2.chat",
        pickle.dumps(([], {"job_id": "poison-pickle"}, {})),
        "application/x-python-serialize",
        "binary",
        headers(),
        "disallowed_content",
        "",
    ),
    (
        "eco2.chat",
        '[[], {"job_id": "poison-unknown"}, {}]',
        "application/json",
        "utf-8",
        headers("no.such.task"),
        "unknown_task",
        "poison-unknown",
    ),
    ("eco2.chat", '{"hello": 1}', "application/json", "utf-8", None, "unknown_format", ""),
    (
        "eco2.chat",
        '[[], {"job_id": "poison-id"}, {}]',
        "application/json",
        "utf-8",
        {"task": TASK, "id": 7},
        "malformed_message",
        "poison-id",
    ),
    (
        "eco2.chat",
        '[[], {"job_id": "poison-eta"}, {}]',
        "application/json",
        "utf-8",
        headers(eta="not a time"),
        "malformed_message",
        "poison-eta",
    ),
    (
        "eco2.chat",
        '[[], {"job_id": "poison-limit"}, {}]',
        "application/json",
        "utf-8",
        headers(timelimit="x"),
        "malformed_message",
        "poison-limit",
    ),
    ("eco2.io", '{"job": {}}', "application/json", "utf-8", headers("eco2.subagent.weather"), "malformed_message", ""),
    ("eco2.chat", '"x"', "application/json", "utf-8", headers("celery.chord_unlock"), "malformed_message", ""),
    # Well-formed, but no call of the task could take these arguments: it would only fail once it ran.
    (
        "eco2.chat",
        '[[], {"job_id": "poison-continue"}, {}]',
        "application/json",
        "utf-8",
        headers("eco2.chat.continue"),
        "malformed_message",
        "poison-continue",
    ),
]


@pytest.fixture(scope="module")
def served(
    module_redis_url: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Worker, int]]:
    redis.Redis.from_url(module_redis_url).flushdb()  # the other broker's run recorded its refusals here
    port = free_port()
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("state"), broker_url, ECO2_METRICS_PORT=str(port))
    logs = tmp_path_factory.mktemp("logs") / "worker.log"
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=logs) as worker:
        yield worker, port


def rejected(client: redis.Redis) -> list[dict[str, str]]:
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in client.xrange("eco2:chat:rejected")]


def queued(broker_url: str, queue: str) -> int:
    """Messages waiting on ``queue`` of either broker."""
    with Connection(broker_url) as conn:
        if broker_url.startswith("redis"):
            return int(conn.default_channel.client.llen(queue))
        _name, messages, _consumers = conn.default_channel.queue_declare(queue, passive=True)
        return int(messages)


def test_every_unrunnable_message_is_refused_and_recorded_and_the_worker_keeps_serving(
    served: tuple[Worker, int], module_redis_url: str, broker_url: str
) -> None:
    worker, port = served
    client = redis.Redis.from_url(module_redis_url)
    pids = set(worker.children())
    with Connection(broker_url) as conn:
        producer = conn.Producer()
        for queue, body, content_type, encoding, hdrs, _reason, _job in POISON:
            producer.publish(
                body,
                exchange="",
                routing_key=queue,
                content_type=content_type,
                content_encoding=encoding,
                headers=hdrs or {},
                serializer=None,
            )
    deadline = time.monotonic() + 30
    while len(rejected(client)) < len(POISON) and time.monotonic() < deadline:
        time.sleep(0.2)
    records = rejected(client)
    assert sorted(r["code"] for r in records) == sorted(reason for *_, reason, _job in POISON)
    named = {r["job_id"] for r in records if r["job_id"]}
    assert named == {job for *_, job in POISON if job}
    assert all("hello" not in r["message"] and "poison" not in r["message"] for r in records)  # no body content
    # Nothing was requeued: the queues are empty, and the worker processes never restarted.
    time.sleep(1)
    assert queued(broker_url, "eco2.chat") == queued(broker_url, "eco2.io") == 0
    assert set(worker.children()) == pids
    assert "Unrecoverable error" not in Path(worker.log_path).read_text(errors="replace")
    job_id = f"after-{uuid.uuid4().hex[:8]}"
    Celery(broker=broker_url).send_task(TASK, kwargs={"job_id": job_id, "message": "페트병"}, queue="eco2.chat")
    assert terminal(collect(client, job_id))["_type"] == "done"
    text = scrape(port)
    for reason in {reason for *_, reason, _job in POISON}:
        expected = sum(1 for *_, r, _job in POISON if r == reason)
        assert sample(text, "chat_rejected_messages_total", reason=reason) == expected, reason
