"""The ``eco2`` command line, run as a subprocess like a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eco2.localrun import Worker
from tests.conftest import worker_env

ROOT = Path(__file__).resolve().parents[2]


def eco2(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eco2.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "ECO2_LLM_PROVIDER": "offline", "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )


def test_inline_chat_prints_one_json_object() -> None:
    result = eco2("chat", "--inline", "--json", "페트병 어떻게 버려?")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"job_id", "intent", "answer", "sources"}
    assert out["intent"] == "waste"
    assert "페트" in out["answer"]
    assert out["sources"]


def test_inline_chat_streams_text_and_stages() -> None:
    result = eco2("chat", "--inline", "치킨 뼈는 음식물쓰레기야?")
    assert result.returncode == 0, result.stderr
    stages = result.stderr.splitlines()
    assert stages[:4] == ["· intent …", "· intent ✓ waste", "· waste_rag …", "· waste_rag ✓"]
    assert "일반" in result.stdout or "종량제" in result.stdout
    assert stages[-1] == "(answer ready at once: it arrived in one piece)"  # the offline composer's pieces


def test_a_refused_job_exits_non_zero() -> None:
    result = eco2("chat", "--inline", "--json", "   ")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "empty_message"


def test_classify_reads_lines_and_writes_json_lines() -> None:
    result = eco2("classify", stdin="페트병 어떻게 버려?\n\n오늘 비 와?\n소파 버리는 방법\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["intent"] for line in lines] == ["waste", "weather", "bulk_waste"]
    assert all(0 <= line["confidence"] <= 1 for line in lines)


@pytest.fixture(scope="module")
def cli_worker(module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("state"))
    with Worker(env, pool=None, concurrency=None, launcher="eco2"):
        yield module_redis_url


@pytest.mark.redis
@pytest.mark.workers
def test_chat_through_workers_then_tail_resumes_after_an_id(cli_worker: str) -> None:
    env = {"ECO2_REDIS_URL": cli_worker}
    result = eco2("chat", "--json", "--job-id", "cli-job-1", "--session", "cli-s", "우유팩 어떻게 버려?", env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "· intent" not in result.stderr  # --json: the one object, nothing else
    assert "ready at once" not in result.stderr
    assert out["job_id"] == "cli-job-1"
    assert out["intent"] == "waste"
    full = eco2("tail", "cli-job-1", env=env, timeout=30)
    assert full.returncode == 0
    events = [json.loads(line) for line in full.stdout.splitlines()]
    assert events[-1]["type"] == "done"
    resumed = eco2("tail", "cli-job-1", "--after", events[2]["id"], env=env, timeout=30)
    assert [json.loads(line)["seq"] for line in resumed.stdout.splitlines()] == [e["seq"] for e in events[3:]]


@pytest.mark.redis
@pytest.mark.workers
def test_tail_of_a_queued_job_times_out_with_exit_3(cli_worker: str) -> None:
    import redis

    redis.Redis.from_url(cli_worker).hset("eco2:chat:queued-job:snapshot", mapping={"status": "queued"})
    result = eco2("tail", "queued-job", "--timeout", "1", env={"ECO2_REDIS_URL": cli_worker}, timeout=30)
    assert result.returncode == 3


@pytest.mark.redis
@pytest.mark.workers
def test_chat_with_a_job_id_already_used_fails_with_the_workers_rejection(cli_worker: str) -> None:
    env = {"ECO2_REDIS_URL": cli_worker}
    first = eco2("chat", "--job-id", "cli-reused", "스티로폼 어떻게 버려?", env=env)
    assert first.returncode == 0, first.stderr
    # The stages as the worker went through them, then the one-entry offline answer said to be ready at once
    shown = first.stderr.splitlines()
    assert shown[:4] == ["· intent …", "· intent ✓ waste", "· waste_rag …", "· waste_rag ✓"], first.stderr
    assert shown[-3:] == ["· answer …", "· answer ✓", "(answer ready at once: it arrived in one piece)"]
    assert "스티로폼" in first.stdout
    again = eco2("chat", "--json", "--job-id", "cli-reused", "캔 어떻게 버려?", env=env)
    assert again.returncode == 1
    out = json.loads(again.stdout)
    assert out["status"] == "error"
    assert out["error"]["code"] == "duplicate_job_id"
    assert out["answer"] == ""  # not the styrofoam answer of the earlier job


@pytest.mark.slow
def test_the_readme_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = eco2("demo", env={"XDG_STATE_HOME": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "7/7 chats answered" in result.stdout
    assert "· intent ✓ bulk_waste" in result.stderr  # each chat's stages, as they happened
    assert result.stderr.count("(answer ready at once: it arrived in one piece)") == 7  # offline: no chat streams
    assert "intent=character status=done subagents={'character': 'ok'}" in result.stdout  # the embedded service
