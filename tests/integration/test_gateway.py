"""The HTTP gateway against real processes: `eco2 gateway` (uvicorn), `eco2 worker`, Redis (issue 13).

A browser or backend posts a chat, reads its Server-Sent Events (resuming by stream ID), reads the
snapshot; bad bodies get the contract's codes, never a 500; keys, body size and rate limits hold.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from eco2.localrun import GatewayServer, Worker
from tests.conftest import worker_env
from tests.integration.test_metrics_e2e import sample

pytestmark = [pytest.mark.redis, pytest.mark.workers]

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def gateway(worker: Worker, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = worker_env(
        module_redis_url,
        tmp_path_factory.mktemp("gw"),
        ECO2_GATEWAY_API_KEYS=f"{KEY},other-key-0123456789abcdef",
        ECO2_GATEWAY_CORS_ORIGINS="https://app.example",
        ECO2_GATEWAY_MAX_BODY_BYTES="4096",
        ECO2_GATEWAY_HEARTBEAT_S="0.5",
        ECO2_GATEWAY_RATE_PER_MIN="100000",  # the rate limit has a gateway of its own below
    )
    with GatewayServer(env, log_path=tmp_path_factory.mktemp("gwlog") / "gateway.log") as server:
        yield server.url


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


Event = tuple[str, str, dict[str, Any]]


def sse(url: str, headers: dict[str, str] | None = None, timeout_s: float = 60) -> list[Event]:
    """``(id, event, data)`` of every event until the response ends."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    with httpx.stream("GET", url, headers={**auth(), **(headers or {})}, timeout=timeout_s) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for block in _blocks(response.iter_lines()):
            if "event" in block:
                out.append((block["id"], block["event"], json.loads(block["data"])))
    return out


def _blocks(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    block: dict[str, str] = {}
    for line in lines:
        if not line:
            if block:
                yield block
            block = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            block[name] = value


def post(gateway: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{gateway}/v1/chats", content=raw, headers={**auth(), "Content-Type": "application/json", **(headers or {})}
    )


def test_a_chat_posted_over_http_streams_as_sse_with_stream_ids(gateway: str, mclient: redis.Redis) -> None:
    created = post(gateway, {"message": "페트병 어떻게 버려?", "metadata": {"app": "web"}})
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    assert created.json()["events_url"] == f"/v1/chats/{job_id}/events"
    events = sse(f"{gateway}/v1/chats/{job_id}/events")
    assert events[-1][1] == "done"
    assert [e for _i, e, _d in events].count("done") == 1
    # One SSE event per stream entry: its id is the Redis stream ID, its data the entry's fields.
    entries = mclient.xrange(f"eco2:chat:{job_id}:events")
    assert [i for i, _e, _d in events] == [entry_id.decode() for entry_id, _ in entries]
    assert [d["seq"] for _i, _e, d in events] == [str(n) for n in range(1, len(events) + 1)]
    answer = "".join(d.get("delta", "") for _i, e, d in events if e == "token")
    assert json.loads(events[-1][2]["data"])["answer"] == answer
    snapshot = httpx.get(f"{gateway}/v1/chats/{job_id}", headers=auth()).json()
    assert snapshot["status"] == "done"
    assert snapshot["answer"] == answer
    assert snapshot["last_seq"] == len(events)
    assert set(snapshot) == {"job_id", "status", "intent", "answer", "last_seq", "updated_ms"}


def test_a_stream_resumes_after_the_last_event_id_or_after(gateway: str) -> None:
    job_id = post(gateway, {"message": "소파 버리는 법"}).json()["job_id"]
    whole = sse(f"{gateway}/v1/chats/{job_id}/events")
    middle = whole[2][0]
    assert sse(f"{gateway}/v1/chats/{job_id}/events", {"Last-Event-ID": middle}) == whole[3:]
    assert sse(f"{gateway}/v1/chats/{job_id}/events?after={middle}") == whole[3:]
    # After the terminal event there is nothing more: the response ends at once.
    assert sse(f"{gateway}/v1/chats/{job_id}/events", {"Last-Event-ID": whole[-1][0]}, timeout_s=5) == []


def test_a_queued_job_answers_with_heartbeats_until_a_worker_takes_it(gateway: str, mclient: redis.Redis) -> None:
    # A job the gateway accepted but no worker has started: its stream URL answers, idle but alive.
    job_id = "gw-idle-0001"
    mclient.hset(f"eco2:chat:{job_id}:snapshot", mapping={"status": "queued", "last_seq": "0"})
    comments = 0
    with httpx.stream("GET", f"{gateway}/v1/chats/{job_id}/events", headers=auth(), timeout=10) as response:
        started = time.monotonic()
        for line in response.iter_lines():
            comments += line.startswith(":")
            if comments >= 2 or time.monotonic() - started > 5:
                break
    assert comments >= 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        ([1, 2], 400, "invalid_json"),
        ({"message": "   "}, 400, "empty_message"),
        ({"message": "가" * 4001}, 413, "body_too_large"),  # 12 KB of UTF-8 over a 4 KB limit
        ({"message": "hi", "priority": "high"}, 400, "unknown_field"),
        ({"message": "hi", "job_id": "mine"}, 400, "unknown_field"),  # the gateway names jobs
        ({"message": "근처", "user_location": {"latitude": 200, "longitude": 1}}, 400, "invalid_location"),
        ({"message": "hi", "session_id": ""}, 400, "invalid_session_id"),
        ({"message": "hi", "multitask_strategy": "later"}, 400, "invalid_multitask_strategy"),
        ({"message": "hi", "image_url": "file:///etc/passwd"}, 400, "invalid_image_url"),
    ],
)
def test_a_bad_body_gets_its_code_never_a_500(gateway: str, body: Any, status: int, code: str) -> None:
    response = post(gateway, body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_unknown_jobs_are_404(gateway: str) -> None:
    for path in ("/v1/chats/no-such-job", "/v1/chats/no-such-job/events", "/v1/chats/bad%20id/events"):
        response = httpx.get(gateway + path, headers=auth())
        assert response.status_code == 404, path
        assert response.json()["code"] == "unknown_job"
    bad = httpx.get(f"{gateway}/v1/chats/gw-idle-0001/events?after=zzz", headers=auth())
    assert bad.status_code in (400, 404)


def test_api_keys_are_required_and_compared_whole(gateway: str) -> None:
    wrong = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {KEY}x"}, {"X-API-Key": KEY[:-1]}]
    for headers in wrong:
        response = httpx.post(f"{gateway}/v1/chats", json={"message": "hi"}, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    assert httpx.post(f"{gateway}/v1/chats", json={"message": "hi"}, headers={"X-API-Key": KEY}).status_code == 202
    other = {"Authorization": "Bearer other-key-0123456789abcdef"}
    assert httpx.post(f"{gateway}/v1/chats", json={"message": "hi"}, headers=other).status_code == 202
    # Health and metrics stay open to probes and Prometheus; the page is static.
    for path in ("/healthz", "/readyz", "/metrics", "/"):
        assert httpx.get(gateway + path).status_code == 200, path


def test_cors_lets_the_configured_origin_in_and_no_other(gateway: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = httpx.options(f"{gateway}/v1/chats", headers={"Origin": "https://app.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    refused = httpx.options(f"{gateway}/v1/chats", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_a_sessions_messages_are_numbered_and_run_in_order(gateway: str, mclient: redis.Redis) -> None:
    jobs = [post(gateway, {"message": m, "session_id": "gw-s1"}).json()["job_id"] for m in ("페트병", "그럼 캔은?")]
    streams = [sse(f"{gateway}/v1/chats/{job}/events") for job in jobs]
    assert [s[-1][1] for s in streams] == ["done", "done"]
    assert int(streams[0][-1][2]["ts"]) <= int(streams[1][0][2]["ts"])
    assert mclient.get("eco2:gateway:session:gw-s1:seq") == b"2"


def test_metrics_count_requests_connections_and_bytes(gateway: str) -> None:
    job_id = post(gateway, {"message": "안녕"}).json()["job_id"]
    sse(f"{gateway}/v1/chats/{job_id}/events")
    text = httpx.get(f"{gateway}/metrics").text
    assert sample(text, "eco2_gateway_requests_total", route="/v1/chats", method="POST", status="202") >= 1
    assert sample(text, "eco2_gateway_requests_total", route="/v1/chats", method="POST", status="401") >= 1
    assert sample(text, "eco2_gateway_sse_connections") == 0  # every stream above has ended
    assert sample(text, "eco2_gateway_sse_sent_bytes_total") > 1000


def test_the_rate_limit_refuses_with_retry_after(tmp_path: Path, module_redis_url: str) -> None:
    env = worker_env(module_redis_url, tmp_path, ECO2_GATEWAY_RATE_PER_MIN="3")
    with GatewayServer(env, log_path=tmp_path / "gateway.log") as server:
        codes = [httpx.get(f"{server.url}/v1/chats/none").status_code for _ in range(5)]
        assert codes[:3] == [404, 404, 404]
        limited = httpx.get(f"{server.url}/v1/chats/none")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["code"] == "rate_limited"


def test_the_gateway_never_imports_the_workers_graph_or_models() -> None:
    code = (
        "import sys, eco2.gateway.app, eco2.cli.gateway; "
        "print(sorted(m for m in ('langgraph', 'langchain_core', 'openai', 'grpc', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_one_gateway_holds_more_idle_streams_than_a_redis_pool_has_connections(
    gateway: str, mclient: redis.Redis
) -> None:
    import asyncio

    jobs = [f"gw-many-{n:03d}" for n in range(150)]  # redis-py's asyncio pool stops at 100 connections
    for job in jobs:
        mclient.hset(f"eco2:chat:{job}:snapshot", mapping={"status": "queued", "last_seq": "0"})

    async def read(client: httpx.AsyncClient, job: str) -> tuple[int, str]:
        beats, last = 0, ""
        async with client.stream("GET", f"{gateway}/v1/chats/{job}/events", headers=auth()) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                beats += line.startswith(":")
                if line.startswith("event: "):
                    last = line[7:]
                    return beats, last
                if beats == 1:  # every stream is open and idle: end them all
                    mclient.xadd(f"eco2:chat:{job}:events", {"seq": "1", "type": "error", "ts": "1", "data": "{}"})
        return beats, last

    async def scenario() -> list[tuple[int, str]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return await asyncio.gather(*(read(client, job) for job in jobs))

    results = asyncio.run(scenario())
    assert [last for _beats, last in results] == ["error"] * len(jobs)
    assert all(beats >= 1 for beats, _last in results)
