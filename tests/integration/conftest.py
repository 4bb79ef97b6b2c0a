"""Fixtures that run real Celery workers (separate processes) against the real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from eco2.localrun import Worker
from tests.conftest import worker_env
from tests.support.exporter import cached_exporter_venv


@pytest.fixture(scope="module")
def worker(module_redis_url: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """``eco2 worker`` as users start it: every eco2 queue, the default pool (threads, a process per core)."""
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("state"), broker_url)
    logs = tmp_path_factory.mktemp("logs") / "worker.log"
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=logs) as running:
        yield running


@pytest.fixture(scope="module")
def backend(broker_url: str) -> Iterator[Celery]:
    """An "existing backend": a bare Celery client that does not import eco2."""
    app = Celery(broker=broker_url)
    yield app
    app.close()


@pytest.fixture(scope="module")
def mclient(module_redis_url: str) -> redis.Redis:
    """Plain redis-py on the module's database."""
    return redis.Redis.from_url(module_redis_url)


@pytest.fixture(scope="session")
def exporter_venv() -> Path:
    """The celery-exporter's own venv, installed once and cached between runs."""
    return cached_exporter_venv()


def read_log(path: Path) -> str:
    """A worker's log (for assertion messages)."""
    return path.read_text(errors="replace")
