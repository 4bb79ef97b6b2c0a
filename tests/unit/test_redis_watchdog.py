"""A Redis that comes back empty is noticed, logged and counted (issue 12, item 4)."""

from __future__ import annotations

import logging

import pytest
import redis

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from tasks.watchdog import RedisWatchdog

pytestmark = pytest.mark.redis


class Counting(NoOpMetricsAdapter):
    def __init__(self) -> None:
        self.lost = 0

    def track_redis_data_lost(self) -> None:
        self.lost += 1


def test_a_redis_that_lost_its_data_is_noticed_once_per_loss(
    rclient: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Counting()
    first, second = RedisWatchdog(rclient, "t", metrics), RedisWatchdog(rclient, "t", metrics)
    assert first.check() is False  # learns the marker
    assert second.check() is False  # another worker of the same Redis sees the same one
    assert first.check() is False
    rclient.flushdb()  # what a restart without persistence looks like
    with caplog.at_level(logging.ERROR):
        assert first.check() is True
    assert "Redis lost its data" in caplog.text
    assert second.check() is True  # the marker the first one wrote again is not the one it knew
    assert first.check() is False
    assert second.check() is False
    assert metrics.lost == 2  # once per worker that saw it
