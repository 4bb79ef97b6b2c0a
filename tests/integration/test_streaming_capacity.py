"""``eco2 worker`` as shipped streams many answers at once against a model paced like a real one.

A slot that is a whole process would stream two answers at a time on a two-core host and queue the rest for
seconds each; the default pool must hold every stream open together. Behaviour, not timing thresholds: the
streams overlap, and every chat ends with one ``done`` whose answer is exactly its tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from bench.paced_model import running
from eco2.localrun import Worker
from tests.conftest import worker_env

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHATS = 30


@pytest.fixture(scope="module")
def paced_model() -> Iterator[str]:
    """bench/paced_model.py: intent after 300 ms; answers' first token after 400 ms, then 60 at 33 ms."""
    with running() as url:
        yield url


def test_thirty_chats_enqueued_at_once_stream_together_and_each_ends_once(
    redis_url: str, tmp_path: Path, paced_model: str
) -> None:
    env = worker_env(
        redis_url, tmp_path / "state", ECO2_LLM_PROVIDER="auto", OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=paced_model
    )
    client = redis.Redis.from_url(redis_url)
    backend = Celery(broker=redis_url)
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
        jobs = [f"cap-{n}-{uuid.uuid4().hex[:6]}" for n in range(CHATS)]
        for job_id in jobs:
            kwargs = {"job_id": job_id, "message": "페트병 어떻게 버려?"}
            backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
        first_token: dict[str, float] = {}
        ended: dict[str, float] = {}
        cursors = {f"eco2:chat:{job_id}:events": "0-0" for job_id in jobs}
        deadline = time.monotonic() + 120
        while len(ended) < CHATS and time.monotonic() < deadline:
            reply = client.xread({k: v for k, v in cursors.items() if k.split(":")[2] not in ended}, block=200)
            now = time.monotonic()
            for key, entries in reply or []:
                job_id = key.decode().split(":")[2]
                for entry_id, fields in entries:
                    cursors[key.decode()] = entry_id.decode()
                    if fields[b"type"] == b"token":
                        first_token.setdefault(job_id, now)
                    elif fields[b"type"] in (b"done", b"error"):
                        ended[job_id] = now
    assert len(ended) == CHATS, f"{CHATS - len(ended)} chats never ended"
    first_end = min(ended.values())
    streaming_together = sum(1 for at in first_token.values() if at < first_end)
    assert streaming_together >= 25, f"only {streaming_together} streams had started when the first one ended"
    for job_id in jobs:
        entries = [f for _id, f in client.xrange(f"eco2:chat:{job_id}:events")]
        terminals = [e for e in entries if e[b"type"] in (b"done", b"error")]
        assert [e[b"type"] for e in terminals] == [b"done"], job_id
        assert entries[-1] is terminals[0]
        text = ""
        for entry in entries:
            if entry[b"type"] == b"reset":
                text = ""
            elif entry[b"type"] == b"token":
                text += entry[b"delta"].decode()
        answer = json.loads(terminals[0][b"data"])["answer"]
        assert answer == text
        assert answer.count("<") == 60  # the whole paced answer: 60 marked tokens
