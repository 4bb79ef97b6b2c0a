"""Prometheus metrics: the article's exact definitions, the fixed stream tracker, safety, chat coverage."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from eco2.adapters.noop.metrics import NoOpMetricsAdapter, NoOpStreamTracker
from eco2.adapters.prometheus.adapter import PrometheusMetricsAdapter, intent_label, subagent_label, token_label
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.domain.subagents import ResultStatus
from eco2.errors import PermanentError
from eco2.ports.metrics import MetricsPort, StreamTrackerPort
from tests.fakes import KeywordClassifier, ListWriter, ScriptedSubagent, all_subagents, raises, status

ARTICLE = {
    # name: (type, labels, buckets or None)
    "chat_stream_tokens": ("counter", ("node", "status"), None),
    "chat_stream_requests": ("counter", ("status",), None),
    "chat_stream_token_latency_seconds": ("histogram", ("node",), (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)),
    "chat_stream_token_interval_seconds": ("histogram", ("provider",), (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0)),
    "chat_stream_duration_seconds": ("histogram", ("node", "status"), (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)),
    "chat_stream_token_count": ("histogram", ("node",), (10, 50, 100, 200, 500, 1000, 2000)),
    "chat_stream_recovery": ("counter", ("type", "status"), None),
    "chat_stream_active": ("gauge", (), None),
    "chat_requests": ("counter", ("intent", "status", "provider"), None),
    "chat_request_duration_seconds": ("histogram", ("intent", "provider"), None),
    "chat_subagent_calls": ("counter", ("subagent", "status"), None),
    "chat_subagent_duration_seconds": ("histogram", ("subagent",), None),
}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def adapter(registry: CollectorRegistry) -> PrometheusMetricsAdapter:
    return PrometheusMetricsAdapter(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_article_metrics_have_exact_names_types_labels_and_buckets(
    registry: CollectorRegistry, adapter: PrometheusMetricsAdapter
) -> None:
    adapter.track_request("waste", "success", "offline", 1.0)
    adapter.track_subagent_call("waste_rag", "ok", 0.1)
    with adapter.stream_tracker("answer", "openai") as tracker:
        tracker.record_token(latency=0.002)
        tracker.record_token()
    adapter.track_recovery("reset")
    families = {m.name: m for m in registry.collect()}
    for name, (kind, labels, buckets) in ARTICLE.items():
        family = families[name]
        assert family.type == kind, name
        sample_labels = {tuple(sorted(k for k in s.labels if k != "le")) for s in family.samples}
        assert tuple(sorted(labels)) in sample_labels, (name, sample_labels)
        if buckets is not None:
            bounds = sorted({float(s.labels["le"]) for s in family.samples if "le" in s.labels} - {float("inf")})
            assert bounds == [float(b) for b in buckets], name


def test_stream_tracker_counts_a_stream_once_and_always_releases_it(
    registry: CollectorRegistry, adapter: PrometheusMetricsAdapter
) -> None:
    tracker = adapter.stream_tracker()
    tracker.start()
    tracker.start()
    assert value(registry, "chat_stream_active") == 1
    tracker.finish()
    tracker.finish()
    assert value(registry, "chat_stream_active") == 0
    assert value(registry, "chat_stream_requests_total", status="success") == 1

    def stream_that_dies() -> None:
        with adapter.stream_tracker() as failing:
            failing.record_token()
            raise RuntimeError("model died")

    with pytest.raises(RuntimeError):
        stream_that_dies()
    assert value(registry, "chat_stream_active") == 0
    assert value(registry, "chat_stream_requests_total", status="error") == 1
    assert value(registry, "chat_stream_duration_seconds_count", node="answer", status="error") == 1


def test_metric_failures_never_raise(adapter: PrometheusMetricsAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise ValueError("registry broken")

    monkeypatch.setattr(adapter.metrics.requests, "labels", boom)
    monkeypatch.setattr(adapter.metrics.stream_active, "inc", boom)
    monkeypatch.setattr(adapter.metrics.stream_tokens, "labels", boom)
    adapter.track_request("waste", "success", "offline", 1.0)  # would raise without the guard
    with adapter.stream_tracker() as tracker:
        tracker.record_token()


def test_label_values_stay_in_closed_sets() -> None:
    assert intent_label("waste") == "waste"
    assert intent_label("job-123") == "unknown"
    assert subagent_label("waste_rag") == "waste_rag"
    assert subagent_label("user-7") == "unknown"
    assert token_label("empty_message") == "empty_message"
    assert token_label("User 7 / session abc") == "other"
    assert token_label("x" * 40) == "other"


@pytest.mark.parametrize("implementation", [NoOpMetricsAdapter(), PrometheusMetricsAdapter(CollectorRegistry())])
def test_every_adapter_has_every_port_method(implementation: object) -> None:
    for port, impl in ((MetricsPort, implementation), (StreamTrackerPort, implementation.stream_tracker())):  # type: ignore[attr-defined]
        wanted = {n for n, _ in inspect.getmembers(port, inspect.isfunction) if not n.startswith("_")}
        assert wanted <= {n for n in dir(impl) if callable(getattr(impl, n))}, port
    assert isinstance(NoOpMetricsAdapter().stream_tracker(), NoOpStreamTracker)


def build(adapter: PrometheusMetricsAdapter, **overrides: Any) -> Any:
    overrides.setdefault("subagents", all_subagents())
    container, events = bootstrap_inline(
        Settings.from_env({}), classifier=KeywordClassifier(), metrics=adapter, **overrides
    )
    return container, events


def test_a_chat_reports_requests_intents_subagents_tokens_and_ttft(
    registry: CollectorRegistry, adapter: PrometheusMetricsAdapter
) -> None:
    container, _ = build(adapter)
    container.service.accept((), {"job_id": "m1", "message": "페트병 어떻게 버려?", "session_id": "user-42"})
    assert value(registry, "chat_requests_total", intent="waste", status="success", provider="offline") == 1
    assert value(registry, "chat_request_duration_seconds_count", intent="waste", provider="offline") == 1
    assert value(registry, "chat_intent_total", intent="waste", provider="fake") == 1
    assert value(registry, "chat_subagent_calls_total", subagent="waste_rag", status="ok") == 1
    assert value(registry, "chat_subagent_queue_wait_seconds_count", subagent="weather") == 1
    assert value(registry, "chat_stream_tokens_total", node="answer", status="success") > 0
    assert value(registry, "chat_stream_token_latency_seconds_count", node="answer") > 0
    assert value(registry, "chat_time_to_first_token_seconds_count", provider="offline") == 1
    assert value(registry, "chat_stream_active") == 0
    exposition = "\n".join(str(s) for m in registry.collect() for s in m.samples)
    assert "m1" not in exposition
    assert "user-42" not in exposition


def test_fallbacks_partials_errors_and_recoveries_are_counted(
    registry: CollectorRegistry, adapter: PrometheusMetricsAdapter
) -> None:
    subs = all_subagents(
        waste_rag=ScriptedSubagent("waste_rag", status("waste_rag", ResultStatus.WEAK)),
        location=ScriptedSubagent("location", raises(PermanentError("401"))),
    )
    container, _ = build(adapter, subagents=subs, writer=ListWriter(["a ", "b ", "c"], fail_after=1))
    container.service.accept((), {"job_id": "f1", "message": "페트병"})
    container.service.accept((), {"job_id": "f2", "message": "근처 가게"})
    container.service.accept((), {"job_id": "f3", "message": ""})
    assert value(registry, "chat_fallbacks_total", from_subagent="waste_rag", to_subagent="web_search") == 1
    assert value(registry, "chat_partial_answers_total", intent="location") == 1
    assert value(registry, "chat_requests_total", intent="location", status="partial", provider="offline") == 1
    assert value(registry, "chat_stream_recovery_total", type="model_fallback", status="success") == 2
    assert value(registry, "chat_stream_recovery_total", type="reset", status="success") == 2
    assert value(registry, "chat_errors_total", intent="unknown", error_type="empty_message") == 1
    assert value(registry, "chat_stream_active") == 0


def test_the_articles_module_helpers_count_on_the_default_registry() -> None:
    from prometheus_client import REGISTRY

    from eco2.adapters.prometheus.adapter import track_stream_recovery, track_stream_token

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    tokens = value("chat_stream_tokens_total", node="answer", status="success")
    writes = value("chat_stream_token_latency_seconds_count", node="answer")
    resets = value("chat_stream_recovery_total", type="reset", status="success")
    track_stream_token("answer", latency=0.002)
    track_stream_token("answer")
    track_stream_recovery("reset")
    assert value("chat_stream_tokens_total", node="answer", status="success") == tokens + 2
    assert value("chat_stream_token_latency_seconds_count", node="answer") == writes + 1
    assert value("chat_stream_recovery_total", type="reset", status="success") == resets + 1
