"""``TelemetryConfigPort`` and ``TraceRunPort`` (eco2/ports/telemetry.py).

Run against the NoOp adapter and the LangSmith adapter in each of its modes: LangSmith alone on the local
recording server (tests/support/langsmith_server.py), OpenTelemetry alone (runs become spans of a private
tracer provider with an in-memory exporter), both (hybrid), and LangSmith pointed at a port where nothing
listens. The port's promises: adapters never raise and never make the chat wait, the run config threads
the graph and is the caller's to change, child runs re-raise what escapes them, ``traceparent`` is the
current span's exactly when OpenTelemetry is on; where a backend records them, a chat's runs are one trace
under its root, ended and scored from another adapter instance (another process).
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langsmith import Client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from urllib3.util.retry import Retry

from eco2.adapters.langsmith.adapter import LangSmithTelemetryAdapter
from eco2.adapters.langsmith.feedback import FeedbackSender
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.adapters.otel import current_traceparent
from eco2.config import Settings
from eco2.localrun import free_port
from eco2.ports.telemetry import TelemetryConfigPort, TraceFeedback
from tests.contract.conftest import implementation, traits_of
from tests.support.langsmith_server import FakeLangSmith

KEY = "lsv2_pt_contract-secret-7d21"
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
QUICK_S = 0.5
"""What "returns at once" means here, generously (a loaded CI machine)."""


@pytest.fixture(scope="module")
def fake_langsmith() -> Iterator[FakeLangSmith]:
    with FakeLangSmith() as server:
        yield server


@pytest.fixture(scope="module")
def tracer_provider() -> Iterator[TracerProvider]:
    """A private provider (never the global one) whose spans stay in memory."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    yield provider
    provider.shutdown()


@pytest.fixture(scope="module")
def langsmith_down() -> LangSmithTelemetryAdapter:
    """The adapter wired as ``from_settings`` wires LangSmith alone, on a port where nothing listens.

    Its client is built here only to make the SDK give up at once (``Retry(total=0)``): with its default
    retries, the upload thread the interpreter waits for at exit would spend seconds on the dead endpoint.
    What the adapter does with a dead backend is the same either way.
    """
    client = Client(
        api_url=f"http://127.0.0.1:{free_port()}", api_key=KEY, timeout_ms=(500, 500), retry_config=Retry(total=0)
    )
    feedback = FeedbackSender(client, "eco2-contract", {"release": "contract", "env": "contract"})
    return LangSmithTelemetryAdapter(
        client, project="eco2-contract", default_tags=("env:contract",), root_client=client, feedback=feedback
    )


def _settings(endpoint: str | None = None) -> Settings:
    env = {"ECO2_ENV": "contract", "LANGSMITH_PROJECT": "eco2-contract"}
    if endpoint is not None:
        env.update({"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": endpoint})
    return Settings.from_env(env)


def _langsmith(request: pytest.FixtureRequest, mode: str, endpoint: str | None = None) -> LangSmithTelemetryAdapter:
    """The adapter as ``default_telemetry`` builds it for ``mode``, on the recording server unless ``endpoint``."""
    reachable = endpoint is None
    if reachable and mode != "otel":
        endpoint = request.getfixturevalue("fake_langsmith").url
    provider = request.getfixturevalue("tracer_provider") if mode in ("otel", "hybrid") else None
    traceparent = current_traceparent if provider is not None else None
    adapter = LangSmithTelemetryAdapter.from_settings(_settings(endpoint), mode, provider, traceparent)  # type: ignore[arg-type]
    if reachable:  # drain its upload threads; a client of a dead endpoint would only retry until the timeout
        request.addfinalizer(lambda: adapter.flush(2))
    return adapter


IMPLEMENTATIONS = [
    implementation(NoOpTelemetryConfig, tracing=False, otel=False),
    implementation(
        LangSmithTelemetryAdapter,
        lambda r: _langsmith(r, "langsmith"),
        variant="langsmith",
        tracing=True,
        otel=False,
        server=True,
    ),
    implementation(LangSmithTelemetryAdapter, lambda r: _langsmith(r, "otel"), variant="otel", tracing=True, otel=True),
    implementation(
        LangSmithTelemetryAdapter,
        lambda r: _langsmith(r, "hybrid"),
        variant="hybrid",
        tracing=True,
        otel=True,
        server=True,
    ),
    implementation(
        LangSmithTelemetryAdapter,
        lambda r: r.getfixturevalue("langsmith_down"),
        variant="down",
        tracing=True,
        otel=False,
    ),
]
"""Traits: ``tracing`` (runs are recorded), ``otel`` (OpenTelemetry is on), ``server`` (the recording
LangSmith server receives its runs, so the one-trace test can read them back)."""
TRACING = [p for p in IMPLEMENTATIONS if p.values[0].traits["tracing"]]
RECORDING = [p for p in IMPLEMENTATIONS if p.values[0].traits.get("server")]


@pytest.fixture(params=IMPLEMENTATIONS)
def telemetry(request: pytest.FixtureRequest) -> TelemetryConfigPort:
    port: TelemetryConfigPort = request.param(request)
    return port


@pytest.fixture(params=TRACING)
def tracing(request: pytest.FixtureRequest) -> TelemetryConfigPort:
    port: TelemetryConfigPort = request.param(request)
    return port


@pytest.fixture(params=RECORDING)
def recording(request: pytest.FixtureRequest) -> TelemetryConfigPort:
    port: TelemetryConfigPort = request.param(request)
    return port


def job_id() -> str:
    return f"contract-{uuid.uuid4().hex[:10]}"


def quickly(started: float) -> None:
    assert time.perf_counter() - started < QUICK_S, "the chat waited for its tracing backend"


# -- the run config -------------------------------------------------------------------------------------------
def test_is_enabled_says_whether_runs_are_recorded(
    request: pytest.FixtureRequest, telemetry: TelemetryConfigPort
) -> None:
    assert telemetry.is_enabled() is traits_of(request, "telemetry")["tracing"]


def test_the_run_config_threads_the_graph_whether_tracing_is_on_or_off(telemetry: TelemetryConfigPort) -> None:
    config = telemetry.get_run_config("j1", session_id="session-1", user_id="u1", intent="waste")
    assert isinstance(config, dict)
    assert config["configurable"]["thread_id"] == "session-1"
    assert isinstance(telemetry.get_run_config("j2")["configurable"], dict)


def test_a_tracing_run_config_names_the_run_and_keeps_the_callers_tags_and_metadata(
    tracing: TelemetryConfigPort,
) -> None:
    config = tracing.get_run_config("j1", "s1", "u1", "waste", tags=["caller:tag"], metadata={"k": "v"})
    assert isinstance(config["run_name"], str)
    assert config["run_name"]
    assert "caller:tag" in config["tags"]
    assert len(config["tags"]) == len(set(config["tags"]))
    assert config["metadata"]["k"] == "v"


def test_the_run_config_never_mutates_its_arguments_and_is_the_callers_to_change(
    telemetry: TelemetryConfigPort,
) -> None:
    tags, metadata = ["a", "b"], {"k": "v", "nested": {"x": 1}}
    before = (copy.deepcopy(tags), copy.deepcopy(metadata))
    first = telemetry.get_run_config("j1", "s1", "u1", "waste", tags=tags, metadata=metadata)
    assert (tags, metadata) == before
    pristine = copy.deepcopy(first)
    first["configurable"]["thread_id"] = "changed"
    first.setdefault("tags", []).append("changed")
    first.setdefault("metadata", {})["changed"] = True
    first["extra"] = 1
    assert (tags, metadata) == before
    assert telemetry.get_run_config("j1", "s1", "u1", "waste", tags=tags, metadata=metadata) == pristine


# -- never raise, never wait ------------------------------------------------------------------------------
def test_a_chats_calls_never_raise_and_never_wait(telemetry: TelemetryConfigPort) -> None:
    config = telemetry.get_run_config(job_id(), "s1", "u1", "waste")
    started = time.perf_counter()
    root = telemetry.start_trace(config, {"message": "페트병 어떻게 버려?"})
    assert root is None or (isinstance(root, str) and root)
    if not telemetry.is_enabled():
        assert root is None
    with telemetry.within(root):
        pass
    with telemetry.child_run(root, "subagent:waste_rag", config, {"message": "페트병"}) as run:
        assert run.end({"status": "ok"}) is None
    with telemetry.child_run(root, "subagent:weather", config, {}) as run:
        assert run.end({"status": "failed"}, error="RetryableError: kma 503") is None
    assert telemetry.record_feedback(root, [TraceFeedback("retrieval_quality", 0.8, "pet_bottle")]) is None
    if root is not None:
        assert telemetry.end_trace(root, config, {"outcome": "success"}) is None
    quickly(started)


@pytest.mark.parametrize(
    "root",
    [None, "", "not-a-dotted-order", "20250101T000000000000Z" + "0" * 32, "20250101T000000000000Zabc.x"],
    ids=["none", "empty", "garbage", "foreign", "child-order"],
)
def test_any_root_reference_is_harmless(telemetry: TelemetryConfigPort, root: str | None) -> None:
    config = telemetry.get_run_config(job_id(), "s1")
    started = time.perf_counter()
    with telemetry.within(root):
        pass
    with telemetry.child_run(root, "subagent:x", config, {}) as run:
        run.end({})
    telemetry.record_feedback(root, [TraceFeedback("retrieval_weak", 1.0, "weak")])
    if root is not None:
        telemetry.end_trace(root, config, {}, error="timeout")
    quickly(started)


@pytest.mark.parametrize(
    "feedback",
    [
        [],
        [TraceFeedback("retrieval_weak")],
        [TraceFeedback("retrieval_quality", score=float("nan"))],
        [TraceFeedback("k", 1.0, "v" * 2000), TraceFeedback("k", 0.0, "")],
    ],
    ids=["empty", "no-score", "nan", "repeated-key"],
)
def test_feedback_of_any_shape_returns_at_once(telemetry: TelemetryConfigPort, feedback: list[TraceFeedback]) -> None:
    root = telemetry.start_trace(telemetry.get_run_config(job_id(), "s1"), {})
    started = time.perf_counter()
    assert telemetry.record_feedback(root, feedback) is None
    assert telemetry.record_feedback(None, feedback) is None
    quickly(started)


def test_flush_gives_up_after_its_timeout(telemetry: TelemetryConfigPort) -> None:
    config = telemetry.get_run_config(job_id(), "s1")
    root = telemetry.start_trace(config, {})
    telemetry.record_feedback(root, [TraceFeedback("retrieval_weak", 1.0)])
    started = time.perf_counter()
    assert telemetry.flush(0.5) is None
    assert time.perf_counter() - started < 0.5 + 2.0


# -- runs and exceptions --------------------------------------------------------------------------------------
def test_an_exception_escaping_a_child_run_is_re_raised(telemetry: TelemetryConfigPort) -> None:
    error = ValueError("boom")
    config = telemetry.get_run_config(job_id(), "s1")
    root = telemetry.start_trace(config, {})
    with pytest.raises(ValueError, match="boom") as raised, telemetry.child_run(root, "subagent:x", config, {}):
        raise error
    assert raised.value is error


def test_an_exception_in_within_is_not_swallowed(telemetry: TelemetryConfigPort) -> None:
    with pytest.raises(KeyError), telemetry.within(None):
        raise KeyError("x")


def test_traceparent_is_the_current_spans_exactly_when_opentelemetry_is_on(
    request: pytest.FixtureRequest, telemetry: TelemetryConfigPort, tracer_provider: TracerProvider
) -> None:
    assert telemetry.traceparent() is None  # outside any span
    with tracer_provider.get_tracer("contract").start_as_current_span("task") as span:
        got = telemetry.traceparent()
        context = span.get_span_context()
    if traits_of(request, "telemetry")["otel"]:
        assert got is not None
        assert TRACEPARENT.match(got)
        assert got.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    else:
        assert got is None


# -- one trace per chat, across processes (implementations whose backend we can read) ---------------------------
def test_a_chat_is_one_trace_ended_and_scored_from_another_process(
    request: pytest.FixtureRequest, recording: TelemetryConfigPort, fake_langsmith: FakeLangSmith
) -> None:
    job = job_id()
    config = recording.get_run_config(job, "session-9", "user-9", "waste")
    root = recording.start_trace(config, {"message": "페트병"})
    assert root is not None
    with recording.child_run(root, "subagent:waste_rag", config, {"message": "페트병"}) as run:
        run.end({"status": "ok"})
    recording.flush(5)
    other: TelemetryConfigPort = request.node.callspec.params["recording"](request)  # another process's adapter
    other.end_trace(root, config, {"outcome": "success"})
    other.record_feedback(root, [TraceFeedback("retrieval_quality", 0.75, "pet_bottle")])
    other.flush(10)

    def complete(runs: dict[str, dict[str, Any]]) -> bool:
        mine = [r for r in runs.values() if ((r.get("extra") or {}).get("metadata") or {}).get("job_id") == job]
        return len(mine) == 2 and all(r.get("end_time") for r in mine)

    runs = fake_langsmith.wait_for(complete, timeout_s=10)
    mine = {r["name"]: r for r in runs.values() if r["extra"]["metadata"].get("job_id") == job}
    top, child = mine[f"chat:{job}"], mine["subagent:waste_rag"]
    assert top.get("parent_run_id") is None
    assert top["outputs"] == {"outcome": "success"}
    assert child["parent_run_id"] == top["id"]
    assert child["trace_id"] == top["id"]
    assert child["outputs"] == {"status": "ok"}
    scores = fake_langsmith.wait_for_feedback(top["id"], {"retrieval_quality"}, timeout_s=10)
    assert (scores["retrieval_quality"]["score"], scores["retrieval_quality"]["value"]) == (0.75, "pet_bottle")
    assert KEY.encode() not in fake_langsmith.raw_bodies()
