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

from eco2.localrun import LocalRedis

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


def worker_env(redis_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a worker process on the embedded default (no keys)."""
    env = {
        "ECO2_REDIS_URL": redis_url,
        "ECO2_STATE_DIR": str(state_dir),
        "ECO2_LLM_PROVIDER": "offline",
        "OPENAI_API_KEY": "",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    env.update(extra)
    return env
