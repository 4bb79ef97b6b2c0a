"""Shared fixtures: a real redis-server (from ECO2_TEST_REDIS_URL, or started here) and worker helpers.

Tests that run Celery workers get a Redis database of their own so concurrent worker sets never consume
each other's tasks.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from eco2.localrun import LocalRabbitMQ, LocalRedis

_DB_NUMBERS = itertools.count(1)


@pytest.fixture(scope="session")
def redis_base() -> Iterator[str]:
    """``redis://host:port`` of a real redis-server for this test session."""
    url = os.environ.get("ECO2_TEST_REDIS_URL")
    if url:
        parts = urlsplit(url)
        yield f"{parts.scheme}://{parts.netloc}"
        return
    server = LocalRedis()
    try:
        yield f"redis://127.0.0.1:{server.port}"
    finally:
        server.stop()


def _fresh_db(base: str) -> str:
    number = next(_DB_NUMBERS) % 15 + 1  # db 0 is left to whoever else uses the server
    url = f"{base}/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def redis_url(redis_base: str) -> str:
    """A flushed Redis database for one test."""
    return _fresh_db(redis_base)


@pytest.fixture(scope="module")
def module_redis_url(redis_base: str) -> str:
    """A flushed Redis database for one test module (shared with its workers)."""
    return _fresh_db(redis_base)


@pytest.fixture
def rclient(redis_url: str) -> redis.Redis:
    """A plain redis-py client on the test's database."""
    return redis.Redis.from_url(redis_url)


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[LocalRabbitMQ]:
    """A private RabbitMQ node for this test session, started the first time a test needs it.

    Without rabbitmq-server installed its tests are skipped, unless ``ECO2_TEST_REQUIRE_AMQP`` is set (CI
    sets it, so a broken install fails instead of passing quietly).
    """
    try:
        server = LocalRabbitMQ()
    except RuntimeError as exc:
        if os.environ.get("ECO2_TEST_REQUIRE_AMQP"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


_VHOSTS = itertools.count(1)


@pytest.fixture(scope="module")
def broker_url(request: pytest.FixtureRequest, module_redis_url: str) -> str:
    """The Celery broker of a test module: its Redis database, or with ``indirect`` parameter ``"amqp"`` a
    fresh RabbitMQ virtual host (see ``both_brokers``)."""
    kind = getattr(request, "param", "redis")
    if kind == "redis":
        return module_redis_url
    server: LocalRabbitMQ = request.getfixturevalue("rabbitmq")
    return server.vhost(f"eco2-test-{next(_VHOSTS)}")


both_brokers = pytest.mark.parametrize("broker_url", ["redis", "amqp"], indirect=True, scope="module")
"""Run a test (or, as ``pytestmark``, a module) once with the Redis broker and once with RabbitMQ."""


def worker_env(redis_url: str, state_dir: Path, broker_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of a worker process on the embedded default (no keys); the broker is ``redis_url``
    unless ``broker_url`` names another."""
    env = {
        "ECO2_REDIS_URL": redis_url,
        "ECO2_BROKER_URL": broker_url or redis_url,
        "ECO2_STATE_DIR": str(state_dir),
        "ECO2_LLM_PROVIDER": "offline",
        "OPENAI_API_KEY": "",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    env.update(extra)
    return env
