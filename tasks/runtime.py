"""The per-process container used by task functions, built lazily after the worker forks."""

from __future__ import annotations

import threading

from celery.exceptions import SoftTimeLimitExceeded

from eco2.bootstrap import Container, bootstrap
from eco2.dispatch.celery_canvas import CeleryDispatcher
from tasks.app import app

_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    """This process's container (built on first use; connections never cross a fork)."""
    global _container  # noqa: PLW0603 - one container per process is the point
    if _container is None:
        with _lock:
            if _container is None:
                _container = bootstrap(
                    dispatcher=CeleryDispatcher(app), timeout_errors=(SoftTimeLimitExceeded,)
                )
    return _container


def install(built: Container) -> None:
    """Use ``built`` instead of the default container (benchmarks and tests with fakes)."""
    global _container  # noqa: PLW0603
    with _lock:
        _container = built


def reset() -> None:
    """Forget the container (after fork in a child, or in tests)."""
    global _container  # noqa: PLW0603
    with _lock:
        _container = None
