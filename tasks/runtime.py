"""The per-process container used by task functions, built lazily after the worker forks.

``set_factory`` lets an alternative Celery app module (benchmarks, fault-injection tests) choose other
adapters through the same composition root, before the pool processes fork.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass

import redis
from celery.exceptions import SoftTimeLimitExceeded

from eco2.adapters.redis_streams.deadlines import RedisDeadlines
from eco2.adapters.redis_streams.events import RedisStreamsEvents
from eco2.adapters.redis_streams.sessions import RedisSessionQueue
from eco2.bootstrap import (
    Container,
    Scheduling,
    bootstrap,
    default_metrics,
    job_ending,
    process_settings,
    redis_client,
    redis_events,
)
from eco2.config import Settings
from eco2.dispatch.celery_canvas import CeleryChatQueue, CeleryRounds, CeleryTraceCloser
from eco2.ports.metrics import MetricsPort
from tasks.app import app
from tasks.sweeper import DeadlineSweeper

_lock = threading.Lock()
_container: Container | None = None


def celery_scheduling(settings: Settings | None = None, client: redis.Redis | None = None) -> Scheduling:
    """The worker's scheduling ports: rounds, queued jobs and trace closing as Celery messages, deadlines in
    Redis (on ``client``, else a new client from the settings)."""
    settings = settings or process_settings()
    deadlines = RedisDeadlines(client or redis_client(settings.stream_redis_url), settings.stream_prefix)
    return Scheduling(CeleryRounds(app), deadlines, CeleryChatQueue(app), CeleryTraceCloser(app))


@dataclass(frozen=True)
class MainProcess:
    """What a worker's main process needs without a container (no graph): its Redis, streams and metrics."""

    settings: Settings
    client: redis.Redis
    events: RedisStreamsEvents
    metrics: MetricsPort
    sessions: RedisSessionQueue


@functools.cache
def main_process() -> MainProcess:
    """Built once per main process, for the deadline sweeper and the consumer's rejections."""
    settings = process_settings()
    client = redis_client(settings.stream_redis_url)
    sessions = RedisSessionQueue(client, prefix=settings.stream_prefix)
    return MainProcess(settings, client, redis_events(settings, client), default_metrics(settings), sessions)


def start_sweeper() -> DeadlineSweeper:
    """This worker's deadline sweeper (main process: Redis only, no graph)."""
    parts = main_process()
    scheduling = celery_scheduling(parts.settings, parts.client)
    ending = job_ending(parts.settings, parts.events, parts.sessions, scheduling, parts.metrics)
    sweeper = DeadlineSweeper(RedisDeadlines(parts.client, parts.settings.stream_prefix), ending)
    sweeper.start()
    return sweeper


def default_factory() -> Container:
    """The production container: adapters chosen from the environment, read once, on one Redis client."""
    settings = process_settings()
    client = redis_client(settings.stream_redis_url)
    scheduling = celery_scheduling(settings, client)
    return bootstrap(
        settings,
        scheduling=lambda _runner: scheduling,
        timeout_errors=(SoftTimeLimitExceeded,),
        client=client,
    )


_factory: Callable[[], Container] = default_factory


def set_factory(factory: Callable[[], Container]) -> None:
    """Build containers with ``factory`` from now on (call at import time of the app module)."""
    global _factory, _container
    with _lock:
        _factory, _container = factory, None


def container() -> Container:
    """This process's container (built on first use; connections never cross a fork)."""
    global _container  # noqa: PLW0603
    if _container is None:
        with _lock:
            if _container is None:
                _container = _factory()
    return _container


def built() -> Container | None:
    """This process's container if it was built (shutdown hooks must not build one)."""
    return _container


def reset() -> None:
    """Forget the container and the settings read (called in each pool process right after fork)."""
    global _container  # noqa: PLW0603
    with _lock:
        _container = None
        process_settings.cache_clear()
