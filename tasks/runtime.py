"""The per-process container used by task functions, built lazily after the worker forks.

``set_factory`` lets an alternative Celery app module (benchmarks, fault-injection tests) choose other
adapters through the same composition root, before the pool processes fork.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded

from eco2.adapters.redis_streams.deadlines import RedisDeadlines
from eco2.bootstrap import Container, bootstrap, redis_client
from eco2.config import Settings
from eco2.dispatch.celery_canvas import CeleryDispatcher
from tasks.app import app

_lock = threading.Lock()
_container: Container | None = None


def celery_dispatcher() -> CeleryDispatcher:
    """The Celery dispatcher with its deadline store, from the environment's settings."""
    settings = Settings.from_env()
    return CeleryDispatcher(app, RedisDeadlines(redis_client(settings.stream_redis_url), settings.stream_prefix))


def default_factory() -> Container:
    """The production container: adapters chosen from the environment."""
    return bootstrap(dispatcher=celery_dispatcher(), timeout_errors=(SoftTimeLimitExceeded,))


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


def reset() -> None:
    """Forget the container (called in each pool process right after fork)."""
    global _container  # noqa: PLW0603
    with _lock:
        _container = None
