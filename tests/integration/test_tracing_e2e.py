"""Tracing through real workers: the real langsmith client against a local recording LangSmith, and the
OpenTelemetry SDK against a local OTLP receiver. A chat runs as several Celery tasks in several processes;
each mode must still show it as one trace, and neither a secret nor a dead tracing backend may leak into
or break the chat. An answered chat whose retrieval ran is scored on its root run (LangSmith feedback) and
on the task span that closed it (OpenTelemetry)."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from eco2 import __version__
from eco2.localrun import Worker, free_port
from tests.conftest import worker_env
from tests.support.langsmith_server import FakeLangSmith, project_id
from tests.support.otlp_server import FakeOtlp
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

SECRET = "lsv2_pt_DO-NOT-LEAK-7c1e9b"
ENV_NAME = "e2e-tracing"
GRAPH_NODES = {"intent", "dispatch", "answer"}
SUBAGENTS = {"subagent:waste_rag", "subagent:weather"}
WASTE = "페트병 어떻게 버려?"
WEAK = "뭐시기 어떻게 버려?"
"""A waste question the corpus has nothing for: waste_rag answers weak, the chain falls back."""
SCORES = {"retrieval_quality", "retrieval_weak", "retrieval_fallback"}


def tracing_env(url: str, state: Any, **extra: str) -> dict[str, str]:
    return worker_env(
        url,
        state,
        ECO2_ENV=ENV_NAME,
        LANGSMITH_PROJECT="eco2-e2e",
        LANGSMITH_REVISION_ID="eco2-e2e",  # or langsmith runs `git describe` to fill it in
        **extra,
    )


def langsmith_env(url: str, state: Any, endpoint: str, **extra: str) -> dict[str, str]:
    """Native LangSmith mode, reporting to ``endpoint`` with the test's secret key."""
    return tracing_env(
        url, state, LANGSMITH_TRACING="true", LANGSMITH_API_KEY=SECRET, LANGSMITH_ENDPOINT=endpoint, **extra
    )


def send_chat(
    url: str, headers: dict[str, str] | None = None, message: str = WASTE
) -> tuple[str, str, list[dict[str, str]]]:
    """Enqueue as an existing backend does; returns the job id, its session and its stream entries."""
    job_id, session = f"tr-{uuid.uuid4().hex[:10]}", f"sess-{uuid.uuid4().hex[:6]}"
    kwargs = {"job_id": job_id, "message": message, "session_id": session, "user_id": "user-7"}
    backend = Celery(broker=url)
    try:
        backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat", headers=headers or {})
    finally:
        backend.close()
    return job_id, session, collect(redis.Redis.from_url(url), job_id)


def chat_runs(runs: dict[str, dict[str, Any]], job_id: str) -> list[dict[str, Any]]:
    return [r for r in runs.values() if _meta(r).get("job_id") == job_id]


def _meta(run: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = (run.get("extra") or {}).get("metadata") or {}
    return meta


def _ids(run: dict[str, Any]) -> dict[str, Any]:
    return {k: _meta(run).get(k) for k in ("job_id", "user_id", "intent", "thread_id")}


def trace_complete(job_id: str) -> Any:
    """Every expected run arrived and ended, the root included (it is patched when the job ends)."""

    def ready(runs: dict[str, dict[str, Any]]) -> bool:
        mine = chat_runs(runs, job_id)
        names = {r.get("name") for r in mine}
        wanted = {f"chat:{job_id}", "orchestrator", *GRAPH_NODES, *SUBAGENTS}
        return wanted <= names and all(r.get("end_time") for r in mine)

    return ready


def assert_one_langsmith_trace(server: FakeLangSmith, job_id: str, session: str) -> list[dict[str, Any]]:
    runs = chat_runs(server.wait_for(trace_complete(job_id)), job_id)
    roots = [r for r in runs if r["name"] == f"chat:{job_id}"]
    assert len(roots) == 1
    root = roots[0]
    assert root.get("parent_run_id") is None
    assert root["trace_id"] == root["id"]
    for run in runs:
        assert run["trace_id"] == root["id"], run["name"]
        assert run["dotted_order"].startswith(root["dotted_order"]), run["name"]
    expected_ids = {"job_id": job_id, "user_id": "user-7", "intent": "waste", "thread_id": session}
    steps = [r for r in runs if r["name"] == "orchestrator"]
    assert len(steps) == 2  # the process task and the chord callback, each a child of the root
    assert all(r["parent_run_id"] == root["id"] for r in steps)
    assert all(_meta(r)["thread_id"] == session for r in steps)
    for name in SUBAGENTS:
        (sub,) = [r for r in runs if r["name"] == name]
        assert sub["parent_run_id"] == root["id"]
        assert {name, "intent:waste", f"env:{ENV_NAME}"} <= set(sub["tags"])
        assert _ids(sub) == expected_ids
    (answer,) = [r for r in runs if r["name"] == "answer"]
    assert {"intent:waste", f"env:{ENV_NAME}"} <= set(answer["tags"])
    assert _meta(answer)["thread_id"] == session
    assert {"intent:waste", f"env:{ENV_NAME}"} <= set(root["tags"])
    assert _ids(root) == expected_ids
    assert root["outputs"]["outcome"] == "success"
    assert not root.get("error")
    return runs


def ended_root(server: FakeLangSmith, job_id: str) -> dict[str, Any]:
    """The chat's root run, once the job's end patched it."""

    def ended(runs: dict[str, dict[str, Any]]) -> bool:
        return any(r.get("name") == f"chat:{job_id}" and r.get("end_time") for r in runs.values())

    runs = server.wait_for(ended)
    (root,) = [r for r in runs.values() if r.get("name") == f"chat:{job_id}"]
    return root


def assert_retrieval_scored(server: FakeLangSmith, root: dict[str, Any], weak: bool) -> dict[str, dict[str, Any]]:
    """The root run got the three retrieval scores, from this release, in the project, with no message text."""
    feedback = server.wait_for_feedback(root["id"], SCORES)
    assert feedback.keys() == SCORES
    for item in feedback.values():
        assert item["run_id"] == item["trace_id"] == root["id"]
        assert item["session_id"] == project_id("eco2-e2e")
        assert item["feedback_source"]["metadata"] == {"release": __version__, "env": ENV_NAME}
        assert isinstance(item["score"], int | float)
    quality, flag, fallback = (feedback[k] for k in ("retrieval_quality", "retrieval_weak", "retrieval_fallback"))
    assert 0.0 <= quality["score"] <= 1.0
    assert (flag["score"], flag["value"]) == ((1, "weak") if weak else (0, "ok"))
    if weak:
        assert quality["score"] < 0.3
        assert fallback["score"] == 1
        assert fallback["value"].startswith("waste_rag->web_search")
    else:
        assert quality["score"] >= 0.9
        assert (fallback["score"], fallback["value"]) == (0, "none")
    assert root["extra"]["metadata"]["release"] == __version__  # the runs to group the scores by
    sent = json.dumps(list(feedback.values()), ensure_ascii=False)
    assert WASTE not in sent
    assert WEAK not in sent
    assert "뭐시기" not in sent
    return feedback


def assert_no_secret_sent(server: FakeLangSmith) -> None:
    assert SECRET.encode() not in server.raw_bodies()
    ingest = [r for r in server.requests if r["path"].startswith("/runs")]
    assert ingest
    for request in ingest:  # the key travels as the auth header and nowhere else
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["x-api-key"] == SECRET
        assert SECRET not in json.dumps({k: v for k, v in headers.items() if k != "x-api-key"})


@pytest.fixture(scope="class")
def langsmith() -> Iterator[FakeLangSmith]:
    """A recording LangSmith with run compression on, like the SaaS one."""
    with FakeLangSmith(compression=True) as server:
        yield server


@pytest.fixture(scope="class")
def ls_worker(
    module_redis_url: str, tmp_path_factory: pytest.TempPathFactory, langsmith: FakeLangSmith
) -> Iterator[Worker]:
    """Native mode: runs go to LangSmith only."""
    env = langsmith_env(module_redis_url, tmp_path_factory.mktemp("state"), langsmith.url)
    with Worker(env, concurrency=2, log_path=tmp_path_factory.mktemp("logs") / "worker.log") as running:
        yield running


@pytest.fixture(scope="class")
def servers() -> Iterator[tuple[FakeLangSmith, FakeOtlp]]:
    """A recording LangSmith (uncompressed runs) and an OTLP receiver."""
    with FakeLangSmith() as langsmith, FakeOtlp() as otlp:
        yield langsmith, otlp


@pytest.fixture(scope="class", params=["hybrid", "otel"])
def otel_worker(
    request: pytest.FixtureRequest,
    module_redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    servers: tuple[FakeLangSmith, FakeOtlp],
) -> Iterator[tuple[Worker, str]]:
    """``LANGSMITH_OTEL_ENABLED=true``, with LangSmith on (hybrid: spans and runs) or off (spans only)."""
    langsmith, otlp = servers
    extra = {"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": SECRET} if request.param == "hybrid" else {}
    env = tracing_env(
        module_redis_url,
        tmp_path_factory.mktemp("state"),
        LANGSMITH_ENDPOINT=langsmith.url,
        LANGSMITH_OTEL_ENABLED="true",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
        OTEL_BSP_SCHEDULE_DELAY="200",  # the SDK's own knob: export every 200 ms, not every 5 s
        **extra,
    )
    with Worker(env, concurrency=2, log_path=tmp_path_factory.mktemp("logs") / "worker.log") as running:
        yield running, request.param


@pytest.fixture(scope="class")
def dead_worker(module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """Tracing on in both modes, but LangSmith and the OTLP endpoint point at a closed port."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = tracing_env(
        module_redis_url,
        tmp_path_factory.mktemp("state"),
        LANGSMITH_TRACING="true",
        LANGSMITH_API_KEY=SECRET,
        LANGSMITH_ENDPOINT=dead,
        LANGSMITH_OTEL_ENABLED="true",
        OTEL_EXPORTER_OTLP_ENDPOINT=dead,
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    with Worker(env, concurrency=2, log_path=tmp_path_factory.mktemp("logs") / "worker.log") as running:
        yield running


class TestLangSmith:
    """Native mode: runs tied together through ``JobRef.root_run`` (one worker for the class)."""

    def test_a_chat_is_one_trace_with_named_tagged_runs(
        self, ls_worker: Worker, langsmith: FakeLangSmith, module_redis_url: str
    ) -> None:
        job_id, session, entries = send_chat(module_redis_url)
        assert terminal(entries)["_type"] == "done"
        assert_one_langsmith_trace(langsmith, job_id, session)
        assert all("traceparent" not in e for e in entries)  # OpenTelemetry is off: nothing to carry

    def test_the_api_key_reaches_langsmith_only_as_its_auth_header(
        self, ls_worker: Worker, langsmith: FakeLangSmith, module_redis_url: str
    ) -> None:
        job_id, _session, entries = send_chat(module_redis_url)
        langsmith.wait_for(trace_complete(job_id))
        assert_no_secret_sent(langsmith)
        assert SECRET not in json.dumps(entries, ensure_ascii=False)
        assert SECRET not in ls_worker.log_path.read_text(errors="replace")

    def test_a_waste_answer_scores_its_retrieval_on_the_root_run(
        self, ls_worker: Worker, langsmith: FakeLangSmith, module_redis_url: str
    ) -> None:
        job_id, _session, entries = send_chat(module_redis_url)
        assert terminal(entries)["_type"] == "done"
        root = ended_root(langsmith, job_id)
        # Opened by eco2.chat.process, scored by eco2.chat.continue: the id comes with JobRef.root_run.
        assert_retrieval_scored(langsmith, root, weak=False)

    def test_a_weak_retrieval_is_scored_weak_with_the_fallback_it_took(
        self, ls_worker: Worker, langsmith: FakeLangSmith, module_redis_url: str
    ) -> None:
        job_id, _session, entries = send_chat(module_redis_url, message=WEAK)
        done = terminal(entries)
        assert done["subagents"]["waste_rag"] == "weak"
        assert done["fallbacks"][0] == "waste_rag->web_search"
        feedback = assert_retrieval_scored(langsmith, ended_root(langsmith, job_id), weak=True)
        assert feedback["retrieval_fallback"]["value"] == "->".join(
            ["waste_rag", *(step.split("->")[1] for step in done["fallbacks"])]
        )

    def test_a_chat_without_retrieval_is_not_scored(
        self, ls_worker: Worker, langsmith: FakeLangSmith, module_redis_url: str
    ) -> None:
        job_id, _session, entries = send_chat(module_redis_url, message="오늘 날씨 어때?")
        assert terminal(entries)["intent"] == "weather"
        root = ended_root(langsmith, job_id)
        # A waste chat after it is scored; its feedback leaves the same worker the same way, so by then the
        # weather chat's would have arrived too (it goes out right as its root is patched, not later).
        later, _session, _entries = send_chat(module_redis_url)
        langsmith.wait_for_feedback(ended_root(langsmith, later)["id"], SCORES)
        time.sleep(0.5)
        assert langsmith.feedback_on(root["id"]) == {}


class TestOpenTelemetry:
    """The backend's W3C trace continues through every task (hybrid mode: LangSmith gets one trace too)."""

    def test_the_backends_trace_continues_through_every_task(
        self, otel_worker: tuple[Worker, str], servers: tuple[FakeLangSmith, FakeOtlp], module_redis_url: str
    ) -> None:
        langsmith, otlp = servers
        feedback_before = len(langsmith.feedback)
        trace_id, backend_span = secrets.token_hex(16), secrets.token_hex(8)
        job_id, session, entries = send_chat(module_redis_url, {"traceparent": f"00-{trace_id}-{backend_span}-01"})
        assert terminal(entries)["_type"] == "done"
        wanted = {
            "run/eco2.chat.process",
            "run/eco2.subagent.waste_rag",
            "run/eco2.chat.continue",
            "orchestrator",
            *SUBAGENTS,
            *GRAPH_NODES,
        }
        spans = otlp.wait_for(trace_id, lambda got: wanted <= {s["name"] for s in got})
        by_id = {s["span_id"]: s for s in spans}

        def ancestors(span: dict[str, Any]) -> list[str]:
            names, parent = [], span["parent_span_id"]
            while parent in by_id:
                names.append(by_id[parent]["name"])
                parent = by_id[parent]["parent_span_id"]
            names.append(parent)  # the first id outside the worker: the backend's span
            return names

        (process,) = [s for s in spans if s["name"] == "run/eco2.chat.process"]
        assert process["parent_span_id"] == backend_span
        for span in spans:  # every span hangs off the backend's span through the process task
            assert ancestors(span)[-1] == backend_span, span["name"]
        for name in ("run/eco2.subagent.waste_rag", "run/eco2.chat.continue"):
            (task,) = [s for s in spans if s["name"] == name]
            assert "run/eco2.chat.process" in ancestors(task)
        # Weather has no key here: it answers not_configured in the process task instead of a task of its own.
        assert not [s for s in spans if s["name"] == "run/eco2.subagent.weather"]
        (unconfigured,) = [s for s in spans if s["name"] == "subagent:weather"]
        assert "run/eco2.chat.process" in ancestors(unconfigured)
        (answer,) = [s for s in spans if s["name"] == "answer"]
        assert "run/eco2.chat.continue" in ancestors(answer)
        (sub,) = [s for s in spans if s["name"] == "subagent:waste_rag"]
        assert ancestors(sub)[0] == "run/eco2.subagent.waste_rag"
        assert {s["resource"].get("service.name") for s in spans if s["name"].startswith("run/")} == {
            "eco2-chat-worker"
        }
        # Stream entries carry the trace context of the task that wrote them: the backend's trace.
        assert entries
        assert all(e["traceparent"].split("-")[1] == trace_id for e in entries)
        assert SECRET.encode() not in b"".join(otlp.bodies)
        # The retrieval's scores: attributes of the task span that closed the chat.
        (closing,) = [s for s in spans if "eco2.feedback.retrieval_quality.score" in s["attributes"]]
        assert closing["name"] == "run/eco2.chat.continue"
        assert closing["attributes"]["eco2.release"] == __version__
        assert closing["attributes"]["eco2.feedback.retrieval_weak.score"] == 0.0
        assert closing["attributes"]["eco2.feedback.retrieval_fallback.value"] == "none"
        if otel_worker[1] == "hybrid":  # LangSmith still gets the chat as one trace of its own
            runs = assert_one_langsmith_trace(langsmith, job_id, session)
            assert_no_secret_sent(langsmith)
            (root,) = [r for r in runs if r["name"] == f"chat:{job_id}"]
            assert_retrieval_scored(langsmith, root, weak=False)
        else:  # spans only: the runs became spans and nothing went to LangSmith
            assert chat_runs(langsmith.runs(), job_id) == []
            assert len(langsmith.feedback) == feedback_before


class TestTelemetryDown:
    """LangSmith and the OTLP endpoint unreachable: chats complete as if tracing were off."""

    def test_chats_finish_when_every_tracing_backend_is_down(self, dead_worker: Worker, module_redis_url: str) -> None:
        for _ in range(2):
            _job, _session, entries = send_chat(module_redis_url)
            data = terminal(entries)
            assert data["_type"] == "done"
            assert data["intent"] == "waste"
        assert SECRET not in dead_worker.log_path.read_text(errors="replace")


class TestDeadline:
    """A job ended by the deadline sweeper (a worker's main process, which has no tracing client)."""

    def test_its_root_run_ends_as_a_timeout_and_stays_one_after_the_late_answer(
        self, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        with FakeLangSmith() as server:
            env = langsmith_env(
                module_redis_url,
                tmp_path_factory.mktemp("state"),
                server.url,
                ECO2_JOB_TIMEOUT_S="5",
                ECO2_TEST_ANSWER_PIECES="40",
                ECO2_TEST_ANSWER_DELAY_S="0.2",  # an 8 s answer: the 5 s deadline passes while it streams
            )
            logs = tmp_path_factory.mktemp("logs") / "worker.log"
            with Worker(env, app="tests.support.fault_app", concurrency=2, log_path=logs):
                job_id, _session, entries = send_chat(module_redis_url)
                assert terminal(entries)["code"] == "timeout"

                def root_ended(runs: dict[str, dict[str, Any]]) -> bool:
                    return any(r.get("name") == f"chat:{job_id}" and r.get("end_time") for r in runs.values())

                def late_answer_ended(runs: dict[str, dict[str, Any]]) -> bool:
                    steps = [r for r in chat_runs(runs, job_id) if r.get("name") == "orchestrator"]
                    return len(steps) == 2 and all(r.get("end_time") for r in steps)

                server.wait_for(root_ended, timeout_s=20)
                runs = chat_runs(server.wait_for(late_answer_ended, timeout_s=30), job_id)
        (root,) = [r for r in runs if r["name"] == f"chat:{job_id}"]
        assert root["outputs"]["outcome"] == "timeout"
        assert "timeout" in str(root.get("error"))
