"""The breakers of a threads pool: calls through one upstream run side by side, the state is shared."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.errors import RetryableError


class Recording(NoOpMetricsAdapter):
    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []

    def track_breaker_state(self, upstream: str, state: str) -> None:
        self.states.append((upstream, state))


def test_calls_through_one_upstream_from_many_threads_run_side_by_side() -> None:
    breakers = Breakers()
    started = time.monotonic()
    threads = [threading.Thread(target=breakers.call, args=("kma", time.sleep, 0.3)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # pybreaker holds a breaker's lock for the whole call: one shared breaker took 8 x 0.3 s.
    assert time.monotonic() - started < 1.2


def test_failures_from_every_thread_count_toward_one_state_reported_once() -> None:
    metrics = Recording()
    breakers = Breakers(metrics, fail_max=4, reset_timeout_s=60)

    def fail() -> None:
        raise RetryableError("503")

    def attempt() -> None:
        with pytest.raises((RetryableError, CircuitOpenError)):
            breakers.call("kma", fail)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breakers.state("kma") == "open"
    with pytest.raises(CircuitOpenError):
        breakers.call("kma", lambda: "never called")
    threading.Thread(target=lambda: breakers.state("kma")).start()  # another thread notices the state too
    time.sleep(0.1)
    assert metrics.states == [("kma", "open")]


def test_an_opening_is_logged_once_naming_where_the_upstream_is(caplog: pytest.LogCaptureFixture) -> None:
    breakers = Breakers(fail_max=1, reset_timeout_s=60)
    breakers.describe("character", "character service at 127.0.0.1:50051")

    def refused() -> None:
        raise RetryableError("UNAVAILABLE")

    with caplog.at_level(logging.WARNING, logger="eco2.adapters.resilience.breakers"):
        for _ in range(3):  # the failure that opens it, then two refused at once
            with pytest.raises(CircuitOpenError):
                breakers.call("character", refused)
    assert [r.getMessage() for r in caplog.records] == [
        "circuit breaker character: closed -> open (character service at 127.0.0.1:50051); "
        "its calls fail at once for 60 s"
    ]
