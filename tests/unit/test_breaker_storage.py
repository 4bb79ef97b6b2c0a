"""Breakers shared through Redis: cheap on the success path, still shared between processes.

Each ``Breakers`` instance below stands for one worker process (its own cache over the same keys).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.errors import RetryableError

pytestmark = pytest.mark.redis


class CountingRedis(redis.Redis):
    """A real client that counts the commands it sends."""

    commands: list[str]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(str(args[0]))
        return super().execute_command(*args, **options)


def counting(redis_url: str) -> CountingRedis:
    client = CountingRedis.from_url(redis_url)
    client.commands = []
    return client


def fail() -> None:
    raise RetryableError("upstream down")


def test_successful_calls_do_not_ask_redis_each_time(redis_url: str) -> None:
    client = counting(redis_url)
    breakers = Breakers(redis_client=client, fail_max=3, state_ttl_s=60)
    breakers.call("openai", lambda: 1)
    client.commands.clear()
    for _ in range(50):
        assert breakers.call("openai", lambda: 2) == 2
    assert client.commands == []


def test_a_failure_is_forgotten_after_the_next_success(redis_url: str) -> None:
    client = counting(redis_url)
    breakers = Breakers(redis_client=client, fail_max=2, state_ttl_s=60)
    for _ in range(5):  # fail, succeed, fail, ...: never two in a row, never open
        with pytest.raises(RetryableError):
            breakers.call("openai", fail)
        breakers.call("openai", lambda: None)
    assert breakers.state("openai") == "closed"
    assert int(client.get("eco2:breaker:openai:fail_counter") or 0) == 0


def test_another_process_opening_the_breaker_is_seen_within_the_ttl(redis_url: str) -> None:
    here = Breakers(redis_client=counting(redis_url), fail_max=2, state_ttl_s=0.2)
    there = Breakers(redis_client=counting(redis_url), fail_max=2, state_ttl_s=0.2)
    here.call("kakao", lambda: None)
    for _ in range(2):  # the failure that opens it is reported as the open circuit
        with pytest.raises((RetryableError, CircuitOpenError)):
            there.call("kakao", fail)
    assert there.state("kakao") == "open"
    time.sleep(0.25)
    with pytest.raises(CircuitOpenError):
        here.call("kakao", lambda: None)


def test_failures_of_other_processes_are_reset_by_a_later_success(redis_url: str) -> None:
    here = Breakers(redis_client=counting(redis_url), fail_max=3, state_ttl_s=0.1)
    there = Breakers(redis_client=counting(redis_url), fail_max=3, state_ttl_s=0.1)
    here.call("kma", lambda: None)
    for _ in range(2):
        with pytest.raises(RetryableError):
            there.call("kma", fail)
    time.sleep(0.15)
    here.call("kma", lambda: None)  # its last reset is older than the ttl: it writes the counter again
    with pytest.raises(RetryableError):
        there.call("kma", fail)
    assert there.state("kma") == "closed"
