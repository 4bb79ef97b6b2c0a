"""Rough edges of the command line and the weather phrasing found trying eco2 as a new user (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from eco2.localrun import free_port
from eco2.subagents.weather.kma.digest import Outlook
from eco2.subagents.weather.korean import outlook_line

ROOT = Path(__file__).resolve().parents[2]


def eco2(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eco2.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


def outlook(low: float, high: float) -> Outlook:
    at = datetime(2026, 12, 7, 9)
    return Outlook(at, at, 12, 10, at, (), (), None, None, low, high, None, None)


def test_a_day_whose_low_and_high_are_equal_gives_one_temperature() -> None:
    assert "기온 20℃" in outlook_line(outlook(20.0, 20.0), "오늘")
    assert "20~20" not in outlook_line(outlook(20.0, 20.0), "오늘")
    assert "기온 18~26℃" in outlook_line(outlook(18.0, 26.0), "오늘")


@pytest.mark.parametrize("command", [("chat", "페트병"), ("tail", "some-job")])
def test_an_unreachable_redis_is_one_line_naming_the_address_never_the_password(command: tuple[str, ...]) -> None:
    port = free_port()
    result = eco2(*command, "--timeout", "5", ECO2_REDIS_URL=f"redis://eco2:s3cret-pw@127.0.0.1:{port}/0")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("eco2: cannot reach Redis or the broker:")
    assert str(port) in lines[0]
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("chat", "페트병"), ("tail", "some-job")])
def test_a_timeout_of_zero_is_refused_as_a_usage_error(command: tuple[str, ...]) -> None:
    result = eco2(*command, "--timeout", "0")
    assert result.returncode == 2
    assert "must be more than 0 seconds" in result.stderr


@pytest.mark.redis
def test_tail_of_a_job_nobody_knows_says_so_and_fails(redis_url: str) -> None:
    result = eco2("tail", "no-such-job", ECO2_REDIS_URL=redis_url)
    assert result.returncode == 1
    assert "no job no-such-job (no stream, no snapshot, not queued)" in result.stderr
