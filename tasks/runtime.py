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
from eco2.bootstrap import Container, bootstrap, default_metrics, redis_client, redis_events
from eco2.config import Settings
from eco2.dispatch.celery_canvas import CeleryDispatcher
from eco2.orchestrator.ending import JobEnding
from eco2.ports.metrics import MetricsPort
from tasks.app import app
from tasks.sweeper import DeadlineSweeper

_lock = threading.Lock()
_container: Container | None = None


def celery_dispatcher(settings: Settings | None = None, client: redis.Redis | None = None) -> CeleryDispatcher:
    """The Celery dispatcher with its deadline store (on ``client``, else a new client from the settings)."""
    settings = settings or Settings.from_env()
    deadlines = RedisDeadlines(client or redis_client(settings.stream_redis_url), settings.stream_prefix)
    return CeleryDispatcher(app, deadlines)


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
    settings = Settings.from_env()
    client = redis_client(settings.stream_redis_url)
    sessions = RedisSessionQueue(client, prefix=settings.stream_prefix)
    return MainProcess(settings, client, redis_events(settings, client), default_metrics(settings), sessions)


def start_sweeper() -> DeadlineSweeper:
    """This worker's deadline sweeper (main process: Redis only, no graph)."""
    parts = main_process()
    deadlines = RedisDeadlines(parts.client, parts.settings.stream_prefix)
    ending = JobEnding(
        parts.events,
        parts.sessions,
        CeleryDispatcher(app, deadlines),
        parts.settings.job_timeout_s,
        parts.metrics,
    )
    sweeper = DeadlineSweeper(deadlines, ending)
    sweeper.start()
    return sweeper


def default_factory() -> Container:
    """The production container: adapters chosen from the environment, read once, on one Redis client."""
    settings = Settings.from_env()
    client = redis_client(settings.stream_redis_url)
    return bootstrap(
        settings,
        dispatcher=celery_dispatcher(settings, client),
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
    """Forget the container (called in each pool process right after fork)."""
    global _container  # noqa: PLW0603
    with _lock:
        _container = None
