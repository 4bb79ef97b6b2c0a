"""The pool process's container: settings read once, one Redis client shared by streams and deadlines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from tasks import runtime


def test_the_production_container_uses_one_redis_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO2_REDIS_URL", "redis://127.0.0.1:1/0")  # never connected: clients are lazy
    monkeypatch.setenv("ECO2_STATE_DIR", str(tmp_path))
    made: list[redis.Redis] = []
    real = runtime.redis_client

    def counting(url: str) -> Any:
        made.append(real(url))
        return made[-1]

    monkeypatch.setattr(runtime, "redis_client", counting)
    monkeypatch.setattr("eco2.bootstrap.redis_client", counting)
    runtime.reset()  # the settings of this (test) process are read again, from the environment set above
    try:
        container = runtime.default_factory()
    finally:
        runtime.reset()  # and not kept for later tests, whose environment is another
    assert len(made) == 1
    deadlines = container.service.ending._deadlines  # type: ignore[attr-defined]
    assert deadlines._client is made[0]
    assert container.events.client is made[0]  # type: ignore[attr-defined]
