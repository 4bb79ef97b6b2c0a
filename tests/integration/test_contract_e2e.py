"""The public contract, end to end: a backend that does not import eco2 enqueues by task name, a gateway
reads the stream with plain redis-py. Real worker processes, real Redis; the broker Redis or RabbitMQ."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from celery import Celery
from kombu import Connection

from eco2.localrun import Worker
from tests.conftest import both_brokers
from tests.support.streams import collect, followed_text, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, both_brokers]


def send(backend: Celery, **kwargs: object) -> str:
    job_id = str(kwargs.setdefault("job_id", f"it-{uuid.uuid4().hex[:12]}"))
    backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    return job_id


def test_enqueue_by_name_and_read_stream_with_plain_redis(
    worker: Worker, backend: Celery, mclient: redis.Redis
) -> None:
    job_id = send(backend, message="페트병 어떻게 버려?", user_id="u-1", metadata={"app": "test"})
    entries = collect(mclient, job_id)
    assert [int(e["seq"]) for e in entries] == list(range(1, len(entries) + 1))
    assert all(e["ts"].isdigit() for e in entries)
    types = [e["type"] for e in entries]
    assert types[-1] == "done"
    assert types.count("done") + types.count("error") == 1
    stages = {(e["stage"], e["status"]) for e in entries if e["type"] == "stage"}
    assert ("intent", "completed") in stages
    assert ("waste_rag", "completed") in stages
    assert ("weather", "skipped") in stages  # no key: not configured, no call
    data = terminal(entries)
    assert data["intent"] == "waste"
    assert data["answer"] == followed_text(entries)
    assert "페트" in data["answer"]
    assert data["subagents"]["waste_rag"] == "ok"
    assert data["sources"]
    snapshot = {k.decode(): v.decode() for k, v in mclient.hgetall(f"eco2:chat:{job_id}:snapshot").items()}
    assert snapshot["status"] == "done"
    assert snapshot["answer"] == data["answer"]
    assert snapshot["last_seq"] == entries[-1]["seq"]
    assert snapshot["intent"] == "waste"
    assert int(snapshot["updated_ms"]) >= int(entries[-1]["ts"])
    assert 0 < mclient.ttl(f"eco2:chat:{job_id}:events") <= 3600
    assert 0 < mclient.ttl(f"eco2:chat:{job_id}:snapshot") <= 3600


@pytest.mark.parametrize(
    ("message", "intent"),
    [("소파 버리는 방법 알려줘", "bulk_waste"), ("안녕하세요", "general"), ("오늘 비 와?", "weather")],
)
def test_every_routed_intent_answers_cleanly(
    worker: Worker, backend: Celery, mclient: redis.Redis, message: str, intent: str
) -> None:
    entries = collect(mclient, send(backend, message=message))
    data = terminal(entries)
    assert data["_type"] == "done"
    assert data["intent"] == intent
    assert data["answer"]


def test_late_reader_starts_from_the_snapshot(worker: Worker, backend: Celery, mclient: redis.Redis) -> None:
    job_id = send(backend, message="우유팩은 어떻게 버려요?")
    entries = collect(mclient, job_id)
    snap = mclient.hgetall(f"eco2:chat:{job_id}:snapshot")
    # A reader arriving now reads the snapshot, then follows the stream after last_seq: nothing is lost.
    later = [e for e in entries if int(e["seq"]) > int(snap[b"last_seq"])]
    assert later == []
    assert snap[b"answer"].decode() == json.loads(entries[-1]["data"])["answer"]


def test_user_location_and_image_are_accepted(worker: Worker, backend: Celery, mclient: redis.Redis) -> None:
    job_id = send(
        backend,
        message="이거 어떻게 버려?",
        user_location={"latitude": 37.5665, "longitude": 126.978},
        image_url="https://example.com/bottle.jpg",
    )
    data = terminal(collect(mclient, job_id))
    assert data["_type"] == "done"
    assert data["subagents"]["vision"] == "not_configured"


def test_the_worker_consumes_from_the_configured_broker(
    worker: Worker, broker_url: str, request: pytest.FixtureRequest
) -> None:
    if broker_url.startswith("redis"):
        assert worker.env["ECO2_BROKER_URL"] == broker_url
        return
    # RabbitMQ: the queue is durable (a broker restart keeps accepted jobs) and the worker consumes it.
    rabbitmq = request.getfixturevalue("rabbitmq")
    vhost = broker_url.rsplit("/", 1)[1]
    rows = dict(
        line.split("\t", 1)[::-1]
        for line in rabbitmq.ctl("list_queues", "-p", vhost, "--quiet", "--no-table-headers", "durable", "name")
        .strip()
        .splitlines()
    )
    assert rows["eco2.chat"] == "true"
    with Connection(broker_url) as conn:
        _name, _messages, consumers = conn.default_channel.queue_declare("eco2.chat", passive=True)
    assert consumers >= 1
