"""The heartbeat file Kubernetes probes read: touched every ~2 s while the worker is connected."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from eco2.localrun import Worker
from tests.conftest import worker_env

pytestmark = [pytest.mark.redis, pytest.mark.workers]


def test_the_heartbeat_file_stays_fresh_while_the_worker_runs_and_goes_stale_after(
    redis_url: str, tmp_path: Path
) -> None:
    beat = tmp_path / "heartbeat"
    with Worker(worker_env(redis_url, tmp_path / "state", ECO2_HEARTBEAT_FILE=str(beat)), concurrency=1):
        deadline = time.monotonic() + 15
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        first = os.stat(beat).st_mtime
        time.sleep(4.5)
        assert os.stat(beat).st_mtime > first
    stopped = os.stat(beat).st_mtime
    time.sleep(4.5)
    assert os.stat(beat).st_mtime == stopped
