"""A worker started exactly as the chart starts it (its args, its env), on a real Redis.

What the chart promises about a worker pod, checked against the real process: the readiness probe's
command passes once the worker is connected, the metrics endpoint answers on the pod's port, a chat sent
by task name completes, and SIGTERM (what tini forwards from the kubelet) ends the worker well within the
grace period with every message it held back in its queue, not parked until the visibility timeout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from eco2.localrun import free_port
from tests.helm.chart import env_of, rendered_case
from tests.support.streams import collect

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

POD_PATHS = {"/tmp/eco2.heartbeat": "heartbeat", "/run/eco2/metrics": "metrics", "/var/lib/eco2": "state"}


def pod_process(deployment: dict[str, Any], redis_url: str, root: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The container's command line and environment, with pod paths moved under ``root``."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = list(container["args"])
    assert args[:2] == ["eco2", "worker"]
    env = {name: e["value"] for name, e in env_of(container).items() if "value" in e}
    env.update(rendered_case("single-pool").get("ConfigMap", "eco2-config")["data"])
    for pod_path, local in POD_PATHS.items():
        for name, value in env.items():
            env[name] = value.replace(pod_path, str(root / local))
    env.update(ECO2_REDIS_URL=redis_url, ECO2_METRICS_PORT=str(port), ECO2_LLM_PROVIDER="offline")
    # Fewer threads than the values ask for: this machine's cores are shared with the rest of the suite.
    args = [a if not a.startswith("--concurrency=") else "--concurrency=4" for a in args]
    return [sys.executable, "-m", "eco2.cli.main", *args[1:]], env


def probe(deployment: dict[str, Any], name: str, root: Path) -> bool:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    command = [c.replace("/tmp/eco2.heartbeat", str(root / "heartbeat")) for c in container[name]["exec"]["command"]]
    return subprocess.run(command, check=False).returncode == 0


def scrape(port: int, root: Path, timeout_s: float = 30) -> str:
    """The pod's /metrics (the endpoint starts with the worker's main process helpers)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError((root / "worker.log").read_text()) from None
            time.sleep(0.5)


def wait_for(condition: Callable[[], bool], root: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, (root / "worker.log").read_text()[-3000:]
        time.sleep(0.2)


def test_worker_pod_is_ready_serves_metrics_and_shuts_down_without_losing_messages(
    redis_url: str, tmp_path: Path
) -> None:
    rendered = rendered_case("single-pool")
    (deployment,) = rendered.workers()
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    port = free_port()
    command, env = pod_process(deployment, redis_url, tmp_path, port)
    (tmp_path / "state").mkdir()
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(command, env={"PATH": "/usr/bin:/bin", **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not probe(deployment, "readinessProbe", tmp_path):
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.5)
        assert probe(deployment, "livenessProbe", tmp_path)

        assert "eco2_metrics_dir_files" in scrape(port, tmp_path)

        backend = Celery(broker=redis_url)
        job_id = f"pod-{uuid.uuid4().hex[:10]}"
        backend.send_task(
            "eco2.chat.process", kwargs={"job_id": job_id, "message": "페트병 어떻게 버려?"}, queue="eco2.chat"
        )
        client = redis.Redis.from_url(redis_url)
        assert collect(client, job_id)[-1]["type"] == "done"
        # A task due in 10 minutes: the worker takes it and holds it, unacked, until then.
        later = {"job_id": f"{job_id}-later", "message": "캔은?"}
        backend.send_task("eco2.chat.process", kwargs=later, queue="eco2.chat", countdown=600)
        wait_for(lambda: client.hlen("unacked") == 1 and client.llen("eco2.chat") == 0, tmp_path)

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
        took = time.monotonic() - started
        assert proc.returncode == 0
        assert took < grace - 10, f"shutdown took {took:.1f}s of a {grace}s grace period"
        # Cold shutdown put the held message back in its queue at once.
        assert client.hlen("unacked") == 0
        assert client.llen("eco2.chat") == 1
        backend.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
