"""``eco2 celery-exporter`` end to end: the exporter in its own venv, a real worker and Redis, a chat job
enqueued by name, and the exporter's /metrics counting it from the workers' task events."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from eco2.cli.exporter import (
    EXPORTER_VERSION,
    MARKER,
    REQUIREMENTS,
    add_parser,
    ensure_venv,
    exporter_argv,
    venv_python,
)
from eco2.localrun import Worker, free_port
from tests.conftest import worker_env
from tests.integration.conftest import read_log
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Where the exporter venv is kept between test runs (installing it takes a while)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eco2-test"


@pytest.fixture(scope="session")
def exporter_venv() -> Path:
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


class Exporter:
    """``python -m eco2.cli.exporter`` (what ``eco2 celery-exporter`` runs) on a free loopback port."""

    def __init__(self, venv: Path, env: dict[str, str], log_path: Path, timeout_s: float = 60) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        port = self.base.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "eco2.cli.exporter", "--venv", str(venv), "--host", "127.0.0.1", "--port", port],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exporter exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.base + "/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"exporter not ready after {timeout_s}s:\n{self.log()}")
            time.sleep(0.3)

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

    def log(self) -> str:
        """The exporter's output so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def exporter(
    exporter_venv: Path, worker: Worker, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exporter]:
    """The exporter on the module's Redis database, already receiving the worker's heartbeats."""
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("exporter-state"))
    running = Exporter(exporter_venv, env, tmp_path_factory.mktemp("exporter-logs") / "exporter.log")
    try:
        # The exporter labels workers by host; once it has a heartbeat it also sees the task events.
        running.wait_for("celery_worker_up", "worker heartbeat", hostname=worker.name.split("@", 1)[1])
        yield running
    finally:
        running.stop()


def test_exporter_counts_a_chat_enqueued_by_name(
    exporter: Exporter, worker: Worker, backend: Celery, mclient: redis.Redis
) -> None:
    job_id = f"it-{uuid.uuid4().hex[:12]}"
    backend.send_task(
        "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병 어떻게 버려?"}, queue="eco2.chat"
    )
    try:
        entries = collect(mclient, job_id)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log (tail):\n{read_log(worker.log_path)[-4000:]}") from None
    assert terminal(entries)["_type"] == "done"
    text = exporter.wait_for("celery_task_succeeded_total", "succeeded eco2.chat.process", name="eco2.chat.process")
    assert sum(samples(text, "celery_task_failed_total", name="eco2.chat.process")) == 0
    assert samples(text, "celery_task_runtime_count", name="eco2.chat.process")


def test_exporter_reports_the_length_of_every_eco2_queue(exporter: Exporter) -> None:
    text = exporter.metrics()
    for queue in ("eco2.chat", "eco2.io", "eco2.cpu"):
        assert samples(text, "celery_queue_length", queue_name=queue) == [0.0], queue


def test_exporter_stays_out_of_eco2s_environment(exporter_venv: Path) -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("prometheus-exporter-celery")
    assert (exporter_venv / MARKER).read_text().split() == list(REQUIREMENTS)
    probe = "import importlib.metadata as m; print(m.version('redis'))"
    theirs = subprocess.run([venv_python(exporter_venv), "-I", "-c", probe], capture_output=True, text=True, check=True)
    assert theirs.stdout.strip() != importlib.metadata.version("redis")


def test_install_only_reuses_the_venv_and_prints_its_python(exporter_venv: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "eco2.cli.exporter", "--venv", str(exporter_venv), "--install-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(venv_python(exporter_venv))
    assert "installing" not in done.stderr


def test_arguments_after_double_dash_come_last_so_they_win() -> None:
    argv = exporter_argv(Path("/venv/bin/python"), 9808, "0.0.0.0", ["eco2.chat"], ["--", "--port", "1"])
    assert argv[:2] == ["/venv/bin/python", "-I"]
    assert argv[-2:] == ["--port", "1"]
    assert "--broker-url" not in argv  # it travels in the environment, out of sight of ps


def test_add_parser_registers_the_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="eco2")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["celery-exporter", "--port", "9900", "--", "--log-level", "DEBUG"])
    assert (args.port, args.host, args.exporter_args) == (9900, "0.0.0.0", ["--", "--log-level", "DEBUG"])
    assert args.venv is None  # resolved from ECO2_STATE_DIR when the command runs
