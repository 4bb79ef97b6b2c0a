"""The retrieval's scores as feedback on the chat's trace (the source article's feedback loop): what a turn
scores, that the service scores answered turns only, and both telemetry adapters (the LangSmith one through
the real client against the local recording server, over both ways the client sends feedback)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eco2 import __version__
from eco2.adapters.langsmith.adapter import LangSmithTelemetryAdapter
from eco2.adapters.langsmith.feedback import FeedbackBatch, FeedbackSender
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.orchestrator.outcome import fallback_path, retrieval_feedback
from eco2.ports.telemetry import TraceFeedback
from tests.support.langsmith_server import FakeLangSmith, project_id

KEY = "lsv2_pt_feedback-secret-5b2a"
ROOT = "20250101T000000000000Z" + "1" * 32
SCORES = {"retrieval_quality", "retrieval_weak", "retrieval_fallback"}


def ls_settings(endpoint: str) -> Settings:
    env = {"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": endpoint, "ECO2_ENV": "unit"}
    return Settings.from_env(env)


def rag(status: str, quality: float | None = 0.8, top: str = "pet_bottle") -> dict[str, Any]:
    data = {} if quality is None else {"quality": quality, "hits": [{"id": top, "score": 3.1}]}
    return {"name": "waste_rag", "status": status, "data": data}


def by_key(feedback: tuple[TraceFeedback, ...]) -> dict[str, tuple[float | None, str | None]]:
    return {f.key: (f.score, f.value) for f in feedback}


# -- what a turn scores ------------------------------------------------------------------------------
def test_a_good_retrieval_scores_its_quality_and_no_fallback() -> None:
    state = {"results": {"waste_rag": rag("ok", 0.9), "weather": {"name": "weather", "status": "ok"}}}
    assert by_key(retrieval_feedback(state)) == {
        "retrieval_quality": (0.9, "pet_bottle"),
        "retrieval_weak": (0.0, "ok"),
        "retrieval_fallback": (0.0, "none"),
    }


def test_a_weak_retrieval_is_flagged_with_the_fallback_path_it_took() -> None:
    state = {
        "results": {"waste_rag": rag("weak", 0.1)},
        "fallbacks": ["waste_rag->web_search", "web_search->general"],
    }
    assert by_key(retrieval_feedback(state)) == {
        "retrieval_quality": (0.1, "pet_bottle"),
        "retrieval_weak": (1.0, "weak"),
        "retrieval_fallback": (1.0, "waste_rag->web_search->general"),
    }
    empty = {"results": {"waste_rag": {"name": "waste_rag", "status": "empty", "data": {"quality": 0.0, "hits": []}}}}
    assert by_key(retrieval_feedback(empty))["retrieval_weak"] == (1.0, "empty")
    assert by_key(retrieval_feedback(empty))["retrieval_quality"] == (0.0, None)


def test_a_retrieval_that_failed_has_only_its_fallback() -> None:
    state = {"results": {"waste_rag": rag("timeout", quality=None)}, "fallbacks": ["waste_rag->web_search"]}
    assert by_key(retrieval_feedback(state)) == {"retrieval_fallback": (1.0, "waste_rag->web_search")}


def test_a_turn_without_retrieval_scores_nothing() -> None:
    assert retrieval_feedback({"results": {"weather": {"name": "weather", "status": "ok"}}}) == ()
    assert retrieval_feedback({}) == ()


def test_the_fallback_path_follows_only_the_retrievals_chain() -> None:
    steps = ["bulk_waste->waste_rag", "waste_rag->web_search", "location->general"]
    assert fallback_path("waste_rag", steps) == ["waste_rag", "web_search"]
    assert fallback_path("bulk_waste", steps) == ["bulk_waste", "waste_rag", "web_search"]
    assert fallback_path("a", ["a->b", "b->a"]) == ["a", "b"]  # a cycle stops


# -- the service scores answered turns, where their trace closes ---------------------------------------
class RecordingTelemetry(NoOpTelemetryConfig):
    """Tracing on, with a root run per chat; keeps what the service scores."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str | None, tuple[TraceFeedback, ...]]] = []

    def is_enabled(self) -> bool:
        return True

    def start_trace(self, config: Any, inputs: Any) -> str | None:
        return ROOT

    def record_feedback(self, root: str | None, feedback: Any) -> None:
        self.recorded.append((root, tuple(feedback)))


@pytest.fixture(scope="module")
def recorded_chat() -> Any:
    telemetry = RecordingTelemetry()
    settings = Settings.from_env({"ECO2_LLM_PROVIDER": "offline", "ECO2_CHARACTER_GRPC_ADDR": "127.0.0.1:1"})
    container, _events = bootstrap_inline(settings, telemetry=telemetry)

    def ask(message: str) -> list[tuple[str | None, tuple[TraceFeedback, ...]]]:
        telemetry.recorded.clear()
        container.service.accept((), {"job_id": uuid.uuid4().hex, "message": message})
        return list(telemetry.recorded)

    return ask


def test_the_service_scores_an_answered_waste_question_on_its_root(recorded_chat: Any) -> None:
    ((root, feedback),) = recorded_chat("페트병 어떻게 버려?")
    assert root == ROOT
    scores = by_key(feedback)
    assert scores.keys() == SCORES
    assert scores["retrieval_quality"][0] is not None
    assert scores["retrieval_quality"][0] >= 0.9
    assert scores["retrieval_weak"] == (0.0, "ok")
    assert scores["retrieval_fallback"] == (0.0, "none")
    assert "페트병" not in json.dumps([f.value for f in feedback], ensure_ascii=False)  # no message text


def test_the_service_scores_a_weak_retrieval_with_its_fallback(recorded_chat: Any) -> None:
    ((_root, feedback),) = recorded_chat("뭐시기 어떻게 버려?")
    scores = by_key(feedback)
    assert scores["retrieval_weak"] == (1.0, "weak")
    assert scores["retrieval_fallback"][0] == 1.0
    assert str(scores["retrieval_fallback"][1]).startswith("waste_rag->web_search")


def test_the_service_scores_nothing_without_retrieval(recorded_chat: Any) -> None:
    assert recorded_chat("오늘 날씨 어때?") == [(ROOT, ())]  # the adapters skip an empty batch


# -- the LangSmith adapter -------------------------------------------------------------------------
@pytest.fixture(params=["post", "multipart"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeLangSmith]:
    """An older server (the client POSTs ``/feedback``) and a current one (feedback rides the run uploads)."""
    with FakeLangSmith(version="0.0.0-eco2-test" if request.param == "post" else "0.10.0") as running:
        yield running


def test_feedback_lands_on_the_root_run_with_the_release(server: FakeLangSmith) -> None:
    opener = LangSmithTelemetryAdapter.from_settings(ls_settings(server.url), "langsmith")
    config = opener.get_run_config("fb-1", "s1", "u1", "waste")
    root = opener.start_trace(config, {"message": "페트병"})
    assert root is not None
    opener.flush(5)
    # Another process closes the trace: its adapter knows the root only by the reference in JobRef.
    closer = LangSmithTelemetryAdapter.from_settings(ls_settings(server.url), "langsmith")
    closer.end_trace(root, config, {"outcome": "success"})
    scores = [TraceFeedback("retrieval_quality", 0.75, "pet_bottle"), TraceFeedback("retrieval_fallback", 0.0, "none")]
    closer.record_feedback(root, scores)
    closer.flush(10)
    root_run = next(r for r in server.runs().values() if r.get("name") == "chat:fb-1")
    assert root_run["extra"]["metadata"]["release"] == __version__
    got = server.feedback_on(root_run["id"])
    assert got.keys() == {"retrieval_quality", "retrieval_fallback"}
    quality = got["retrieval_quality"]
    assert (quality["score"], quality["value"]) == (0.75, "pet_bottle")
    assert quality["trace_id"] == root_run["id"]
    assert quality["session_id"] == project_id("eco2-chat-worker")
    assert quality["feedback_source"]["metadata"] == {"release": __version__, "env": "unit"}
    assert (got["retrieval_fallback"]["score"], got["retrieval_fallback"]["value"]) == (0.0, "none")
    assert KEY.encode() not in server.raw_bodies()


def test_an_empty_batch_or_a_missing_root_sends_nothing(server: FakeLangSmith) -> None:
    adapter = LangSmithTelemetryAdapter.from_settings(ls_settings(server.url), "langsmith")
    adapter.record_feedback(ROOT, [])
    adapter.record_feedback(None, [TraceFeedback("retrieval_weak", 1.0)])
    adapter.record_feedback("not-a-dotted-order", [TraceFeedback("retrieval_weak", 1.0)])
    adapter.flush(5)
    assert server.feedback == []


def test_recording_feedback_does_not_wait_for_a_hanging_langsmith(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as hanging:  # accepts connections (backlog), never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}"
        adapter = LangSmithTelemetryAdapter.from_settings(ls_settings(url), "langsmith")
        started = time.perf_counter()
        for _ in range(5):
            adapter.record_feedback(ROOT, [TraceFeedback("retrieval_weak", 1.0, "weak")])
        assert time.perf_counter() - started < 0.1
        with caplog.at_level(logging.WARNING):
            started = time.perf_counter()
            adapter.flush(0.6)
            assert time.perf_counter() - started < 2
        assert "trace feedback still unsent" in caplog.text


def test_a_refused_score_is_logged_once_not_per_score(caplog: pytest.LogCaptureFixture) -> None:
    with FakeLangSmith(refuse_feedback=403) as refusing, caplog.at_level(logging.WARNING):
        adapter = LangSmithTelemetryAdapter.from_settings(ls_settings(refusing.url), "langsmith")
        adapter.start_trace(adapter.get_run_config("refused"), {})  # the project exists
        adapter.flush(5)
        for _ in range(3):
            adapter.record_feedback(ROOT, [TraceFeedback("retrieval_weak", 0.0), TraceFeedback("retrieval_quality", 1)])
        adapter.flush(30)
        tries = [r for r in refusing.requests if r["path"] == "/feedback"]
    assert len(tries) == 3  # refused, not unreachable: every batch is tried
    failures = [r.getMessage() for r in caplog.records if "could not send trace feedback" in r.getMessage()]
    assert len(failures) == 1
    assert "Error creating feedback" not in caplog.text  # the client's traceback per score is left out
    assert KEY not in caplog.text


class ScriptedClient:
    """A LangSmith client whose feedback calls wait for ``release``, then fail with ``error`` if one is set."""

    def __init__(self, error: Exception | None = None, wait: bool = False) -> None:
        self.release = threading.Event()
        if not wait:
            self.release.set()
        self.error = error
        self.sent: list[str] = []

    def read_project(self, project_name: str) -> Any:
        raise ConnectionError("no projects here")

    def create_feedback(self, **kwargs: Any) -> None:
        self.release.wait(10)
        self.sent.append(kwargs["key"])
        if self.error is not None:
            raise self.error


def batch(key: str = "k") -> FeedbackBatch:
    return FeedbackBatch(uuid.uuid4(), datetime.now(UTC), (TraceFeedback(key, 1.0),))


def test_an_unreachable_langsmith_is_not_tried_again_for_a_while(caplog: pytest.LogCaptureFixture) -> None:
    from langsmith.utils import LangSmithConnectionError

    client: Any = ScriptedClient(LangSmithConnectionError("connection refused"))
    sender = FeedbackSender(client, "p", {"release": "r"})
    with caplog.at_level(logging.WARNING):
        for key in ("a", "b", "c"):
            sender.submit(batch(key))
        assert sender.flush(5)
    assert client.sent == ["a"]  # the others were dropped untried: each try costs seconds of retries
    assert caplog.text.count("could not send trace feedback") == 1


def test_a_full_queue_drops_scores_instead_of_growing(caplog: pytest.LogCaptureFixture) -> None:
    client: Any = ScriptedClient(wait=True)
    sender = FeedbackSender(client, "p", {"release": "r"}, max_pending=1)
    with caplog.at_level(logging.WARNING):
        sender.submit(batch())  # taken by the thread, which then waits
        deadline = time.monotonic() + 5
        while sender._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        sender.submit(batch())  # queued
        sender.submit(batch())  # dropped
        assert not sender.flush(0.05)
        client.release.set()
        assert sender.flush(5)
    assert client.sent == ["k", "k"]
    assert "queue is full" in caplog.text


# -- OpenTelemetry and NoOp ----------------------------------------------------------------------
def test_with_opentelemetry_the_scores_are_attributes_of_the_current_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings.from_env({"LANGSMITH_OTEL_ENABLED": "true", "ECO2_ENV": "unit"})
    adapter = LangSmithTelemetryAdapter.from_settings(settings, "otel", provider)
    with provider.get_tracer("test").start_as_current_span("run/eco2.chat.continue"):
        adapter.record_feedback(None, [TraceFeedback("retrieval_quality", 0.5, "pet_bottle")])
    adapter.record_feedback(None, [TraceFeedback("retrieval_weak", 1.0)])  # no span: nothing, no error
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes or {}) == {
        "eco2.release": __version__,
        "eco2.feedback.retrieval_quality.score": 0.5,
        "eco2.feedback.retrieval_quality.value": "pet_bottle",
    }
    provider.shutdown()


def test_noop_records_nothing() -> None:
    assert NoOpTelemetryConfig().record_feedback(ROOT, [TraceFeedback("retrieval_weak", 1.0)]) is None
