"""``MetricsPort`` and ``StreamTrackerPort`` (eco2/ports/metrics.py), by behaviour rather than method names.

Run against the Prometheus adapter on a real, private ``CollectorRegistry`` (prometheus_client's own test
style) and the NoOp adapter. Every method is called with the arguments the port declares, by keyword, as
read from the Protocol itself, so a method added to the port is exercised here without editing this file.
Promises: nothing raises (a metrics failure must not break a chat), every method returns ``None``, the
stream tracker counts a stream as active once and always releases it; where the adapter records somewhere
readable (the registry), each call shows there and ids never become label values.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.prometheus.adapter import PrometheusMetricsAdapter
from eco2.ports.metrics import MetricsPort, StreamTrackerPort
from tests.contract.conftest import implementation

RECORDING = [
    implementation(
        PrometheusMetricsAdapter, lambda request: PrometheusMetricsAdapter(request.getfixturevalue("registry"))
    ),
]
"""Implementations that record into ``registry``, where the tests read their effect back."""
IMPLEMENTATIONS = [*RECORDING, implementation(NoOpMetricsAdapter)]

ACTIVE_STREAMS: dict[type, Callable[[CollectorRegistry], float | None]] = {
    PrometheusMetricsAdapter: lambda registry: registry.get_sample_value("chat_stream_active"),
}
"""How to read the active-streams gauge of the implementations that record into ``registry``."""


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture(params=IMPLEMENTATIONS)
def metrics(request: pytest.FixtureRequest) -> MetricsPort:
    port: MetricsPort = request.param(request)
    return port


@pytest.fixture(params=RECORDING)
def recorder(request: pytest.FixtureRequest) -> MetricsPort:
    port: MetricsPort = request.param(request)
    return port


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in registry.collect() for s in m.samples}


def active(metrics: MetricsPort, registry: CollectorRegistry) -> float | None:
    reader = ACTIVE_STREAMS.get(type(metrics))
    return None if reader is None else (reader(registry) or 0.0)


# -- calls built from the port's own signatures --------------------------------------------------------------
NORMAL: dict[str, Any] = {
    "intent": "waste",
    "status": "success",
    "provider": "openai",
    "duration": 0.25,
    "subagent": "waste_rag",
    "error_type": "timeout",
    "seconds": 0.1,
    "from_subagent": "waste_rag",
    "to_subagent": "web_search",
    "recovery_type": "reset",
    "upstream": "kakao",
    "state": "open",
    "reason": "malformed_message",
    "node": "answer",
    "tokens": 3,
    "latency": 0.002,
}
ODD_TEXT = ["", "job-7f3a9c1e", "user 42 / 세션", "x" * 500, "DROP TABLE;"]
ODD_NUMBER = [0.0, -1.0, 1e12, math.nan, math.inf]


def port_methods(port: type) -> list[str]:
    return sorted(n for n, f in inspect.getmembers(port, inspect.isfunction) if not n.startswith("_"))


def calls(port: type, value: Callable[[str, str], Any]) -> list[tuple[str, dict[str, Any]]]:
    """One call per public method of ``port``: keyword arguments named as the port names them."""
    out = []
    for name in port_methods(port):
        params = list(inspect.signature(getattr(port, name)).parameters.values())[1:]
        out.append((name, {p.name: value(p.name, str(p.annotation)) for p in params}))
    return out


def normal(name: str, annotation: str) -> Any:
    if name in NORMAL:
        return NORMAL[name]
    return "x" if annotation.startswith("str") else 1.0


def odd(n: int) -> Callable[[str, str], Any]:
    def value(name: str, annotation: str) -> Any:
        if "None" in annotation and n % 2:
            return None
        if annotation.startswith(("float", "int")):
            return ODD_NUMBER[n % len(ODD_NUMBER)]
        return ODD_TEXT[n % len(ODD_TEXT)]

    return value


TRACKING = [name for name, _ in calls(MetricsPort, normal) if name != "stream_tracker"]


@pytest.mark.parametrize("method", TRACKING)
def test_every_method_takes_the_ports_arguments_and_returns_none(metrics: MetricsPort, method: str) -> None:
    ((_, kwargs),) = [c for c in calls(MetricsPort, normal) if c[0] == method]
    assert getattr(metrics, method)(**kwargs) is None
    defaults_only = {
        k: v
        for k, v in kwargs.items()
        if inspect.signature(getattr(MetricsPort, method)).parameters[k].default is inspect.Parameter.empty
    }
    assert getattr(metrics, method)(*defaults_only.values()) is None  # positionally, defaults left out


@pytest.mark.parametrize("method", TRACKING)
def test_a_recording_adapter_shows_every_call(recorder: MetricsPort, registry: CollectorRegistry, method: str) -> None:
    ((_, kwargs),) = [c for c in calls(MetricsPort, normal) if c[0] == method]
    before = samples(registry)
    getattr(recorder, method)(**kwargs)
    assert samples(registry) != before, f"{method} left no trace in the registry"


@pytest.mark.parametrize("n", range(len(ODD_TEXT)))
def test_odd_values_never_raise(metrics: MetricsPort, n: int) -> None:
    for method, kwargs in calls(MetricsPort, odd(n)):
        got = getattr(metrics, method)(**kwargs)
        if method == "stream_tracker":
            with got as tracker:
                for name, tracker_kwargs in calls(StreamTrackerPort, odd(n)):
                    assert getattr(tracker, name)(**tracker_kwargs) is None
        else:
            assert got is None, method


def test_ids_never_become_label_values(recorder: MetricsPort, registry: CollectorRegistry) -> None:
    secret = "job-7f3a9c1e"
    for method, kwargs in calls(MetricsPort, lambda _n, a: secret if a.startswith("str") else 1.0):
        got = getattr(recorder, method)(**kwargs)
        if method == "stream_tracker":
            with got as tracker:
                tracker.record_token()
    labels = {v for (_name, pairs) in samples(registry) for _k, v in pairs}
    assert not [v for v in labels if secret in v]


# -- the stream tracker ---------------------------------------------------------------------------------------
def tracker_methods_of(tracker: object) -> list[str]:
    return [n for n in port_methods(StreamTrackerPort) if not callable(getattr(tracker, n, None))]


@pytest.mark.parametrize("kwargs", [{}, {"node": "answer", "provider": "openai"}, {"node": "summary"}])
def test_stream_tracker_is_a_context_manager_giving_a_tracker(metrics: MetricsPort, kwargs: dict[str, str]) -> None:
    tracker = metrics.stream_tracker(**kwargs)
    assert tracker_methods_of(tracker) == []
    with tracker as entered:
        assert tracker_methods_of(entered) == []
        assert entered.record_token() is None
        assert entered.record_token(latency=0.003) is None
        assert entered.on_flush(5, 0.01) is None
        assert entered.on_reset() is None


def test_a_stream_is_active_once_and_released_once(metrics: MetricsPort, registry: CollectorRegistry) -> None:
    tracker = metrics.stream_tracker()
    baseline = active(metrics, registry)
    assert tracker.start() is None
    assert tracker.start() is None
    if baseline is not None:
        assert active(metrics, registry) == baseline + 1
    assert tracker.finish() is None
    assert tracker.finish("error") is None  # idempotent
    if baseline is not None:
        assert active(metrics, registry) == baseline


def test_the_with_block_releases_the_stream_and_lets_the_exception_through(
    metrics: MetricsPort, registry: CollectorRegistry
) -> None:
    baseline = active(metrics, registry)

    def dies() -> None:
        with metrics.stream_tracker() as tracker:
            tracker.record_token()
            if baseline is not None:
                assert active(metrics, registry) == baseline + 1
            raise RuntimeError("model died")

    with pytest.raises(RuntimeError, match="model died"):
        dies()
    with metrics.stream_tracker() as tracker:
        tracker.finish("success")  # finished inside the block: leaving it does not release twice
    if baseline is not None:
        assert active(metrics, registry) == baseline


def test_a_tracker_is_a_write_observer_of_the_event_stream(metrics: MetricsPort) -> None:
    # The service hands the tracker to ``JobEventsPort.observe``: it must take the writer's reports.
    from eco2.adapters.memory.events import MemoryEvents

    with metrics.stream_tracker() as tracker:
        writer = MemoryEvents().open("observed")
        writer.observe(tracker)
        writer.token("answer", "가")
        writer.token("answer", "나")
        writer.begin_answer()
        writer.done({})
