"""The maintained celery-exporter run the way ``eco2 celery-exporter`` runs it, for tests."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from eco2.cli.exporter import EXPORTER_VERSION, ensure_venv
from eco2.localrun import free_port
from tests.support.http_process import HttpProcess


def cache_dir() -> Path:
    """Where the exporter venv is kept between test runs (installing it takes a while)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eco2-test"


def cached_exporter_venv() -> Path:
    """The exporter venv, created once and reused; a changed pin reinstalls it (see ``MARKER``)."""
    venv = cache_dir() / f"celery-exporter-{EXPORTER_VERSION}-py{sys.version_info.major}{sys.version_info.minor}"
    ensure_venv(venv)
    return venv


def samples(text: str, metric: str, /, **labels: str) -> list[float]:
    """Values of the samples called ``metric`` whose labels include ``labels``."""
    return [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == metric and labels.items() <= s.labels.items()
    ]


class Exporter(HttpProcess):
    """``python -m eco2.cli.exporter`` (what ``eco2 celery-exporter`` runs) on a free loopback port."""

    def __init__(self, venv: Path, env: dict[str, str], log_path: Path, timeout_s: float = 60) -> None:
        port = str(free_port())
        self.base = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "eco2.cli.exporter", "--venv", str(venv), "--host", "127.0.0.1", "--port", port]
        super().__init__(
            "exporter", argv, {**os.environ, **env}, log_path, self.base + "/health", timeout_s, probe_timeout_s=5
        )

    def metrics(self) -> str:
        """One scrape (the exporter also asks the workers and the broker for queue data, about a second)."""
        response = requests.get(self.base + "/metrics", timeout=30)
        response.raise_for_status()
        return response.text

    def wait_for(self, metric: str, what: str, /, **labels: str) -> str:
        """Scrape until a sample ``metric`` with ``labels`` is > 0 (or fail after a minute); return that scrape."""
        timeout_s = 60
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.metrics()
            if any(v > 0 for v in samples(text, metric, **labels)):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {timeout_s}s; last scrape:\n{text}\nlog:\n{self.log()}")
            time.sleep(1)
