"""Character questions on a real ``eco2 worker``: the embedded service when no address is set, and a set
address with nothing listening (the answer says so; the log says it once per breaker opening)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from eco2.localrun import Worker, free_port
from tests.conftest import worker_env
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers]

QUESTION = "이코 캐릭터는 누구야?"


def ask(redis_url: str, message: str = QUESTION) -> dict[str, Any]:
    """Send one chat the way a producer does and return its terminal event's data."""
    job_id = f"character-{uuid.uuid4().hex[:8]}"
    app = Celery(broker=redis_url)
    try:
        app.send_task("eco2.chat.process", kwargs={"job_id": job_id, "message": message}, queue="eco2.chat")
    finally:
        app.close()
    return terminal(collect(redis.Redis.from_url(redis_url), job_id, timeout_s=60))


def test_with_no_address_a_plain_worker_answers_from_its_embedded_service(redis_url: str, tmp_path: Path) -> None:
    env = worker_env(redis_url, tmp_path / "state", ECO2_CHARACTER_GRPC_ADDR="")
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp_path / "worker.log"):
        data = ask(redis_url)
    assert data["_type"] == "done", data
    assert data["intent"] == "character"
    assert data["subagents"] == {"character": "ok"}
    assert "[이코] 대표 캐릭터" in data["answer"]
    assert "구체적으로" not in data["answer"]  # not the item/district hint of an answer without data


@pytest.fixture(scope="module")
def down_worker(module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One worker process whose character address has nothing listening; the breaker opens on one failure."""
    address = f"127.0.0.1:{free_port()}"
    env = worker_env(
        module_redis_url,
        tmp_path_factory.mktemp("state"),
        ECO2_CHARACTER_GRPC_ADDR=address,
        ECO2_BREAKER_FAIL_MAX="1",
        ECO2_BREAKER_RESET_S="120",  # stays open for the whole module
        ECO2_WORKER_PROCESSES="1",  # each process logs its own breaker's changes: one process, one log line
    )
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=log):
        answers = [ask(module_redis_url) for _ in range(3)]
    return address, answers, log.read_text(errors="replace")


def test_a_set_address_that_is_down_fails_the_subagent_and_is_logged_once(down_worker: Any) -> None:
    address, answers, log = down_worker
    assert [a["_type"] for a in answers] == ["done"] * 3, answers
    assert [a["subagents"] for a in answers] == [{"character": "failed"}] * 3
    warnings = [line for line in log.splitlines() if "WARNING" in line and address in line]
    assert len(warnings) == 1, warnings  # the opening, not one line per refused request
    assert f"circuit breaker character: closed -> open (character service at {address})" in warnings[0]


def test_a_set_address_that_is_down_is_said_in_the_answer_without_its_address(down_worker: Any) -> None:
    address, answers, _log = down_worker
    for answer in answers:
        assert "캐릭터 서비스에 연결할 수 없어요" in answer["answer"]
        assert address not in answer["answer"]  # an internal name: for the log, not for users
        assert "구체적으로" not in answer["answer"]
