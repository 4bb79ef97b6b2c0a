"""``eco2 celery-exporter`` end to end: the exporter in its own venv, a real worker and Redis, a chat job
enqueued by name, and the exporter's /metrics counting it from the workers' task events."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from eco2.cli.exporter import (
    MARKER,
    REQUIREMENTS,
    add_parser,
    exporter_argv,
    venv_python,
)
from eco2.localrun import Worker
from tests.conftest import worker_env
from tests.integration.conftest import read_log
from tests.support.exporter import Exporter, samples
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


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
    assert (args.port, args.host, args.exporter_args) == (9900, "127.0.0.1", ["--", "--log-level", "DEBUG"])
    assert args.venv is None  # resolved from ECO2_STATE_DIR when the command runs
