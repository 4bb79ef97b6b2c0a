"""The OpenAI path through real workers: the official client against a local OpenAI-compatible
server (structured-output intent, streamed answer), including model failures mid-answer."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from eco2.localrun import Worker
from tests.conftest import worker_env
from tests.support.openai_server import FakeOpenAI
from tests.support.streams import collect, followed_text, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]

SECRET = "sk-test-DO-NOT-LEAK-4f9a2c"


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def openai_worker(
    module_redis_url: str, tmp_path_factory: pytest.TempPathFactory, openai_server: FakeOpenAI
) -> Iterator[Worker]:
    env = worker_env(
        module_redis_url,
        tmp_path_factory.mktemp("state"),
        ECO2_LLM_PROVIDER="auto",
        OPENAI_API_KEY=SECRET,
        OPENAI_BASE_URL=openai_server.base_url,
        ECO2_OPENAI_MODEL="fake-chat",
    )
    with Worker(env, concurrency=2, log_path=tmp_path_factory.mktemp("logs") / "worker.log") as worker:
        yield worker


def chat(url: str, message: str) -> tuple[str, list[dict[str, str]]]:
    job_id = f"oa-{uuid.uuid4().hex[:10]}"
    Celery(broker=url).send_task("eco2.chat.process", kwargs={"job_id": job_id, "message": message}, queue="eco2.chat")
    return job_id, collect(redis.Redis.from_url(url), job_id)


def test_intent_and_streamed_answer_come_from_the_model(
    openai_worker: Worker, openai_server: FakeOpenAI, module_redis_url: str
) -> None:
    openai_server.requests.clear()
    _job, entries = chat(module_redis_url, "소파 버리는 방법 알려줘")
    data = terminal(entries)
    assert data["_type"] == "done"
    assert data["intent"] == "bulk_waste"  # the fake model's structured output, not the offline classifier
    assert data["provider"] == {"intent": "openai", "answer": "openai"}
    assert data["answer"].startswith("모델 답변입니다.")
    assert "소파 버리는 방법 알려줘" in data["answer"]  # the question reached the model
    assert data["answer"] == followed_text(entries)
    assert len([e for e in entries if e["type"] == "token"]) >= 1
    bodies = [r["body"] for r in openai_server.requests]
    assert any(b.get("response_format") for b in bodies)
    streamed = [b for b in bodies if b.get("stream")]
    assert streamed
    assert streamed[0]["model"] == "fake-chat"
    for request in openai_server.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["authorization"] == f"Bearer {SECRET}"


def test_model_errors_fall_back_to_the_offline_pipeline(openai_worker: Worker, module_redis_url: str) -> None:
    _job, entries = chat(module_redis_url, "[fail] 페트병 어떻게 버려?")
    data = terminal(entries)
    assert data["_type"] == "done"
    assert data["provider"] == {"intent": "offline", "answer": "offline"}
    assert data["intent"] == "waste"
    assert "페트" in data["answer"]


def test_a_stream_that_breaks_mid_answer_is_reset_and_rewritten(openai_worker: Worker, module_redis_url: str) -> None:
    _job, entries = chat(module_redis_url, "[cut] 페트병 어떻게 버려?")
    types = [e["type"] for e in entries]
    data = terminal(entries)
    assert data["_type"] == "done"
    assert "reset" in types
    assert types.index("reset") > types.index("token")
    assert data["provider"]["answer"] == "offline"
    assert data["answer"] == followed_text(entries)
    assert "모델 답변" not in data["answer"]


def test_the_api_key_never_reaches_events_or_logs(openai_worker: Worker, module_redis_url: str) -> None:
    chat(module_redis_url, "[fail] 캔은 어떻게 버려요?")
    client = redis.Redis.from_url(module_redis_url)
    for key in client.scan_iter("eco2:chat:*:events"):
        for _id, fields in client.xrange(key):
            assert SECRET not in json.dumps({k.decode(): v.decode() for k, v in fields.items()})
    log = openai_worker.log_path.read_text(errors="replace")
    assert SECRET not in log
    assert os.environ.get("OPENAI_API_KEY") != SECRET
