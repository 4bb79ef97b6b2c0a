"""Telemetry: the article's run-config functions, both adapters of the port, and the chat's trace in one
process (the real langsmith client against the local recording server; workers: tests/integration)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import langsmith
import pytest
from opentelemetry.sdk.trace import TracerProvider

from eco2.adapters.langsmith import configure_langsmith, get_run_config, is_langsmith_enabled, tracing_mode
from eco2.adapters.langsmith.adapter import LangSmithTelemetryAdapter
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.adapters.otel import build_provider, current_traceparent, traces_url
from eco2.bootstrap import bootstrap_inline, default_telemetry
from eco2.config import Settings
from eco2.domain.subagents import SubagentQuery
from eco2.errors import ConfigError
from eco2.ports.dispatch import JobRef
from eco2.ports.telemetry import TelemetryConfigPort
from tests.fakes import KeywordClassifier, all_subagents
from tests.support.langsmith_server import FakeLangSmith
from tests.support.otlp_server import FakeOtlp

KEY = "lsv2_pt_unit-secret-31f0"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLangSmith]:
    with FakeLangSmith() as running:
        yield running


def ls_settings(endpoint: str, **extra: str) -> Settings:
    env = {"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": endpoint, "ECO2_ENV": "unit"}
    return Settings.from_env({**env, **extra})


@pytest.fixture
def adapter(server: FakeLangSmith) -> LangSmithTelemetryAdapter:
    return LangSmithTelemetryAdapter.from_settings(ls_settings(server.url), "langsmith")


@pytest.fixture(params=["langsmith", "noop"])
def telemetry(request: pytest.FixtureRequest, server: FakeLangSmith) -> TelemetryConfigPort:
    """Every adapter of the port, for the contract every one of them keeps."""
    if request.param == "noop":
        return NoOpTelemetryConfig()
    return LangSmithTelemetryAdapter.from_settings(ls_settings(server.url), "langsmith")


def chat_runs(server: FakeLangSmith, job_id: str) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r
        for r in server.runs().values()
        if ((r.get("extra") or {}).get("metadata") or {}).get("job_id") == job_id
    }


# -- the article's functions, on settings ---------------------------------------------------------
def test_run_config_names_tags_and_threads_a_chat() -> None:
    config = get_run_config("j1", session_id="s1", user_id="u1", intent="waste", tags=["env:prod"])
    assert config == {
        "run_name": "chat:j1",
        "tags": ["env:prod", "intent:waste"],
        "metadata": {"job_id": "j1", "user_id": "u1", "intent": "waste"},
        "configurable": {"thread_id": "s1"},
    }
    assert get_run_config("j2")["configurable"] == {}


def test_run_config_copies_what_it_is_given() -> None:
    tags, metadata = ["a"], {"k": "v"}
    config = get_run_config("j1", intent="waste", tags=tags, metadata=metadata)
    config["tags"].append("b")
    config["metadata"]["x"] = 1
    assert tags == ["a"]
    assert metadata == {"k": "v"}


def test_adapter_merges_default_tags_with_the_callers_once(adapter: LangSmithTelemetryAdapter) -> None:
    # The article's adapter passed ``tags`` twice here and raised TypeError.
    config = adapter.get_run_config("j1", "s1", "u1", "waste", tags=["subagent:waste_rag", "env:unit"])
    assert config["tags"] == ["env:unit", "subagent:waste_rag", "intent:waste"]
    assert adapter.get_run_config("j1")["tags"] == ["env:unit"]


def test_noop_config_only_threads_the_graph() -> None:
    noop = NoOpTelemetryConfig()
    assert noop.get_run_config("j1", "s1", "u1", "waste", ["t"]) == {"configurable": {"thread_id": "s1"}}
    assert not noop.is_enabled()
    assert noop.start_trace({}, {}) is None


def test_settings_read_both_langsmith_spellings_langsmith_first() -> None:
    old = Settings.from_env({"LANGCHAIN_TRACING_V2": "true", "LANGCHAIN_API_KEY": KEY, "LANGCHAIN_PROJECT": "p-old"})
    assert old.langsmith_tracing
    assert old.langsmith_api_key is not None
    assert old.langsmith_api_key.reveal() == KEY
    assert old.langsmith_project == "p-old"
    new = Settings.from_env({"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "true", "LANGSMITH_PROJECT": "p"})
    assert not new.langsmith_tracing
    assert new.langsmith_project == "p"
    assert Settings.from_env({}).langsmith_project == "eco2-chat-worker"
    assert KEY not in repr(old)
    with pytest.raises(ConfigError, match="LANGSMITH_OTEL_ENABLED"):
        Settings.from_env({"LANGSMITH_OTEL_ENABLED": "maybe"})


@pytest.fixture
def restore_langsmith_globals() -> Iterator[None]:
    yield
    langsmith.configure(enabled=None)


def test_tracing_needs_the_flag_and_a_key(caplog: pytest.LogCaptureFixture, restore_langsmith_globals: None) -> None:
    assert not is_langsmith_enabled(Settings.from_env({"LANGSMITH_API_KEY": KEY}))
    assert is_langsmith_enabled(Settings.from_env({"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": KEY}))
    with caplog.at_level(logging.WARNING):
        assert not configure_langsmith(Settings.from_env({"LANGSMITH_TRACING": "true"}))
    assert "LANGSMITH_API_KEY is not set" in caplog.text
    assert [tracing_mode(ls, ot) for ls in (False, True) for ot in (False, True)] == [
        "off",
        "otel",
        "langsmith",
        "hybrid",
    ]


def test_default_telemetry_follows_the_settings(server: FakeLangSmith) -> None:
    assert isinstance(default_telemetry(Settings.from_env({})), NoOpTelemetryConfig)
    assert isinstance(default_telemetry(ls_settings(server.url)), LangSmithTelemetryAdapter)
    # OpenTelemetry asked for, but not set up in this process (no worker signal ran): off, not half-on.
    assert isinstance(default_telemetry(Settings.from_env({"LANGSMITH_OTEL_ENABLED": "true"})), NoOpTelemetryConfig)


def test_job_ref_carries_the_trace_across_tasks() -> None:
    job = JobRef("j", "s", "00-tp", "s", 1.5, user_id="u", root_run="20250101T000000000000Z" + "0" * 32)
    assert JobRef.from_dict(job.to_dict()) == job


# -- the port's contract ------------------------------------------------------------------------
def test_tracing_calls_without_a_root_are_harmless(telemetry: TelemetryConfigPort) -> None:
    config = telemetry.get_run_config("j-none", "s1")
    with telemetry.within(None):
        pass
    with telemetry.child_run(None, "subagent:x", config, {}) as run:
        run.end({"status": "ok"})
    telemetry.end_trace("not-a-dotted-order", config, {})
    assert telemetry.traceparent() is None
    telemetry.flush(1)


def test_an_exception_in_a_child_run_is_re_raised(telemetry: TelemetryConfigPort) -> None:
    with pytest.raises(ValueError, match="boom"), telemetry.child_run(None, "subagent:x", {}, {}):
        raise ValueError("boom")


# -- one trace per chat, in one process -----------------------------------------------------------
def test_a_chat_is_one_trace_under_its_root(server: FakeLangSmith, adapter: LangSmithTelemetryAdapter) -> None:
    container, events = bootstrap_inline(
        ls_settings(server.url), classifier=KeywordClassifier(), subagents=all_subagents(), telemetry=adapter
    )
    container.service.accept((), {"job_id": "u-j1", "message": "페트병", "session_id": "s9", "user_id": "u9"})
    assert [f for _i, f in events.follow("u-j1", timeout_s=5)][-1]["type"] == "done"
    adapter.flush(10)
    runs = chat_runs(server, "u-j1")
    root = runs["chat:u-j1"]
    assert root.get("parent_run_id") is None
    assert root["end_time"]
    assert {"env:unit", "intent:waste"} <= set(root["tags"])
    wanted = {"job_id": "u-j1", "user_id": "u9", "intent": "waste", "thread_id": "s9"}
    assert {k: root["extra"]["metadata"].get(k) for k in wanted} == wanted
    for name in ("orchestrator", "intent", "dispatch", "answer", "subagent:waste_rag"):
        assert runs[name]["trace_id"] == root["id"], name
    assert runs["orchestrator"]["parent_run_id"] == root["id"]
    assert runs["subagent:waste_rag"]["parent_run_id"] == root["id"]
    assert runs["answer"]["extra"]["metadata"]["thread_id"] == "s9"


def test_a_subagent_run_is_a_child_of_the_root(server: FakeLangSmith, adapter: LangSmithTelemetryAdapter) -> None:
    config = adapter.get_run_config("u-j2", "s2", "u2")
    root = adapter.start_trace(config, {"message": "페트병"})
    assert root is not None
    container, _events = bootstrap_inline(
        ls_settings(server.url), classifier=KeywordClassifier(), subagents=all_subagents(), telemetry=adapter
    )
    job = JobRef("u-j2", "s2", session_id="s2", user_id="u2", root_run=root)
    query = SubagentQuery("u-j2", "페트병", ("waste",))
    assert container.runner.run("waste_rag", query, job=job).status.value == "ok"
    adapter.end_trace(root, config, {"outcome": "success"})
    adapter.flush(10)
    runs = chat_runs(server, "u-j2")
    sub, top = runs["subagent:waste_rag"], runs["chat:u-j2"]
    assert sub["parent_run_id"] == top["id"]
    assert sub["trace_id"] == top["id"]
    assert {"env:unit", "subagent:waste_rag", "intent:waste"} <= set(sub["tags"])
    assert sub["extra"]["metadata"]["user_id"] == "u2"
    assert sub["outputs"]["status"] == "ok"
    assert KEY.encode() not in server.raw_bodies()


# -- failures never break a chat -------------------------------------------------------------------
class ExplodingClient:
    """A LangSmith client whose every upload fails at once."""

    def create_run(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("langsmith is down")

    update_run = create_run

    def flush(self, timeout: float | None = None) -> None:
        raise ConnectionError("langsmith is down")


def test_a_failing_langsmith_never_breaks_a_chat(caplog: pytest.LogCaptureFixture) -> None:
    client: Any = ExplodingClient()
    broken = LangSmithTelemetryAdapter(client, project="p", root_client=client)
    container, events = bootstrap_inline(
        Settings.from_env({}), classifier=KeywordClassifier(), subagents=all_subagents(), telemetry=broken
    )
    with caplog.at_level(logging.WARNING):
        container.service.accept((), {"job_id": "u-j3", "message": "페트병"})
        assert [f for _i, f in events.follow("u-j3", timeout_s=5)][-1]["type"] == "done"
        with broken.child_run(None, "subagent:x", {}, {}) as run:
            run.end({})
        broken.end_trace("20250101T000000000000Z" + "0" * 32, {}, {})
        broken.flush(1)
    assert "could not open the LangSmith trace" in caplog.text


# -- OpenTelemetry ------------------------------------------------------------------------------------
def test_traceparent_is_the_current_spans_and_none_outside_spans() -> None:
    assert current_traceparent() is None
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("s") as span:
        context = span.get_span_context()
        traceparent = current_traceparent()
    assert traceparent is not None
    assert traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


def test_spans_are_exported_over_otlp_http() -> None:
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url(None) is None
    with FakeOtlp() as otlp:
        settings = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "ECO2_ENV": "unit"})
        provider = build_provider(settings)
        with provider.get_tracer("test").start_as_current_span("unit-span") as span:
            trace_id = f"{span.get_span_context().trace_id:032x}"
        provider.force_flush(5000)
        provider.shutdown()
        (received,) = otlp.trace(trace_id)
    assert received["name"] == "unit-span"
    assert received["resource"]["service.name"] == "eco2-chat-worker"
    assert received["resource"]["deployment.environment"] == "unit"


def test_model_calls_are_llm_runs_under_the_graph_steps_that_made_them(
    server: FakeLangSmith, adapter: LangSmithTelemetryAdapter
) -> None:
    from tests.support.openai_server import FakeOpenAI

    with FakeOpenAI() as model:
        settings = ls_settings(
            server.url, ECO2_LLM_PROVIDER="auto", OPENAI_API_KEY="sk-unit", OPENAI_BASE_URL=model.base_url
        )
        container, events = bootstrap_inline(settings, subagents=all_subagents(), telemetry=adapter)
        container.service.accept((), {"job_id": "u-llm", "message": "페트병 어떻게 버려?"})
        done = [f for _i, f in events.follow("u-llm", timeout_s=5)][-1]
    assert done["type"] == "done"
    answer = json.loads(done["data"])["answer"]
    adapter.flush(10)
    runs = server.wait_for(lambda got: {"intent_model", "answer_model"} <= {r.get("name") for r in got.values()})
    steps = chat_runs(server, "u-llm")
    (intent,) = [r for r in runs.values() if r.get("name") == "intent_model"]
    (written,) = [r for r in runs.values() if r.get("name") == "answer_model"]
    assert intent["run_type"] == written["run_type"] == "llm"
    assert intent["parent_run_id"] == steps["intent"]["id"]
    assert written["parent_run_id"] == steps["answer"]["id"]
    assert written["trace_id"] == steps["chat:u-llm"]["id"]
    assert written["outputs"]["content"] == answer  # the streamed text, as the user got it
    assert json.loads(intent["outputs"]["content"])["intents"][0]["intent"] == "waste"
