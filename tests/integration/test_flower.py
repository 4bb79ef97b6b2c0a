"""Flower started with the repository's flower.conf, against a real worker and Redis: it fails closed without
credentials, its HTTP API needs basic auth, it lists a chat enqueued by name, and it serves under a prefix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests
from celery import Celery

from eco2.localrun import Worker, free_port
from tests.conftest import worker_env
from tests.support.http_process import ROOT, HttpProcess

pytestmark = [pytest.mark.redis, pytest.mark.workers]

CONF = ROOT / "flower.conf"
USER = "ops"
PASSWORD = f"pw-{uuid.uuid4().hex}"  # made up per run: nothing to leak, nothing hard-coded
AUTH = (USER, PASSWORD)


def flower_env(redis_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any FLOWER_* it may carry, plus a worker's and ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    return {**base, **worker_env(redis_url, state_dir), **extra}


class Flower(HttpProcess):
    """``celery -A tasks flower --conf=flower.conf`` on a free port, ready when the constructor returns."""

    def __init__(self, env: Mapping[str, str], log_path: Path, timeout_s: float = 60) -> None:
        self.port = free_port()
        prefix = env.get("FLOWER_URL_PREFIX", "").strip("/")
        self.base = f"http://127.0.0.1:{self.port}" + (f"/{prefix}" if prefix else "")
        argv = [sys.executable, "-m", "celery", "-A", "tasks", "flower", f"--conf={CONF}"]
        env = {**env, "FLOWER_PORT": str(self.port)}
        super().__init__("flower", argv, env, log_path, self.url("/healthcheck"), timeout_s)

    def url(self, path: str) -> str:
        """An absolute URL of ``path`` under this Flower's prefix."""
        return self.base + path

    def get(self, path: str, auth: tuple[str, str] | None = AUTH) -> requests.Response:
        """GET ``path``, with the test credentials unless told otherwise."""
        return requests.get(self.url(path), auth=auth, timeout=10)

    def wait_for_worker_events(self, worker: Worker, timeout_s: float = 30) -> None:
        """Wait until Flower has a heartbeat of each of ``worker``'s nodes (one per process): from then on it
        sees their task events."""
        needles = [f'flower_worker_online{{worker="{name}"}} 1.0' for name in worker.names]
        deadline = time.monotonic() + timeout_s
        while not all(needle in self.get("/metrics", auth=None).text for needle in needles):
            if time.monotonic() > deadline:
                raise AssertionError(f"flower saw no heartbeat of {worker.names}:\n{self.log()}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def flower(worker: Worker, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flower]:
    """Flower with basic auth on the module's Redis database, already receiving the worker's events."""
    env = flower_env(module_redis_url, tmp_path_factory.mktemp("flower-state"), FLOWER_BASIC_AUTH=f"{USER}:{PASSWORD}")
    running = Flower(env, tmp_path_factory.mktemp("flower-logs") / "flower.log")
    try:
        running.wait_for_worker_events(worker)
        yield running
    finally:
        running.stop()


def run_flower_until_exit(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run Flower expecting it to stop on its own (a refusal), with a bound in case it does not."""
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "tasks", "flower", f"--conf={CONF}", f"--port={free_port()}"],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_flower_refuses_to_start_without_credentials(redis_url: str, tmp_path: Path) -> None:
    done = run_flower_until_exit(flower_env(redis_url, tmp_path))
    assert done.returncode != 0
    assert "refusing to start without authentication" in done.stderr


@pytest.mark.parametrize("credentials", ["ops", f"ops:{PASSWORD},:nouser", f"ops:{PASSWORD},ops:"])
def test_flower_refuses_malformed_credentials_without_echoing_them(
    redis_url: str, tmp_path: Path, credentials: str
) -> None:
    done = run_flower_until_exit(flower_env(redis_url, tmp_path, FLOWER_BASIC_AUTH=credentials))
    assert done.returncode != 0
    assert "FLOWER_BASIC_AUTH entry" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout


@pytest.mark.parametrize("path", ["/api/workers", "/api/tasks"])
@pytest.mark.parametrize("auth", [None, (USER, "wrong-password"), ("intruder", PASSWORD)], ids=["none", "pw", "user"])
def test_api_answers_401_without_valid_credentials(flower: Flower, path: str, auth: tuple[str, str] | None) -> None:
    assert flower.get(path, auth=auth).status_code == 401


def test_api_lists_a_chat_enqueued_by_name(flower: Flower, worker: Worker, backend: Celery) -> None:
    job_id = f"it-{uuid.uuid4().hex[:12]}"
    kwargs = {"job_id": job_id, "message": "페트병 어떻게 버려?"}
    task_id = backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat").id
    deadline = time.monotonic() + 60
    task: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = flower.get("/api/tasks")
        assert response.status_code == 200
        task = response.json().get(task_id, {})
        if task.get("state") == "SUCCESS":
            break
        time.sleep(0.5)
    assert task.get("name") == "eco2.chat.process", f"task {task_id} not seen as done: {task}\n{flower.log()}"
    assert task.get("state") == "SUCCESS"
    assert task.get("worker") in worker.names
    workers = flower.get("/api/workers?refresh=1")
    assert workers.status_code == 200
    assert set(worker.names) <= set(workers.json())


def test_control_api_is_read_only_by_default(flower: Flower) -> None:
    response = requests.post(flower.url(f"/api/task/revoke/{uuid.uuid4()}"), auth=AUTH, timeout=10)
    assert response.status_code == 403


def test_probes_stay_open_for_kubernetes_and_prometheus(flower: Flower) -> None:
    assert flower.get("/healthcheck", auth=None).text == "OK"
    assert "flower_events_total" in flower.get("/metrics", auth=None).text


def test_url_prefix_moves_ui_and_api(worker: Worker, module_redis_url: str, tmp_path: Path) -> None:
    env = flower_env(
        module_redis_url, tmp_path / "state", FLOWER_BASIC_AUTH=f"{USER}:{PASSWORD}", FLOWER_URL_PREFIX="/ops/flower/"
    )
    prefixed = Flower(env, tmp_path / "flower.log")
    try:
        root = f"http://127.0.0.1:{prefixed.port}"
        assert prefixed.base == f"{root}/ops/flower"
        assert prefixed.get("/api/workers").status_code == 200
        assert prefixed.get("/api/workers", auth=None).status_code == 401
        assert prefixed.get("/").status_code == 200
        assert requests.get(f"{root}/api/workers", auth=AUTH, timeout=10).status_code == 404
    finally:
        prefixed.stop()


def test_explicit_opt_out_runs_open(module_redis_url: str, tmp_path: Path) -> None:
    env = flower_env(module_redis_url, tmp_path / "state", FLOWER_UNAUTHENTICATED_API="true")
    open_flower = Flower(env, tmp_path / "flower.log")
    try:
        assert open_flower.get("/api/tasks", auth=None).status_code == 200
        assert "no authentication" in open_flower.log()
    finally:
        open_flower.stop()


def test_persistent_mode_keeps_state_under_the_state_dir(module_redis_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = flower_env(module_redis_url, state, FLOWER_BASIC_AUTH=f"{USER}:{PASSWORD}", FLOWER_PERSISTENT="true")
    persistent = Flower(env, tmp_path / "flower.log")
    persistent.stop()  # SIGTERM: Flower saves its state on the way out
    assert persistent.proc.returncode == 0, persistent.log()
    assert list(state.glob("flower.db*")), persistent.log()


def test_task_events_show_ids_not_the_users_content(flower: Flower, worker: Worker, backend: Celery) -> None:
    """eco2's own messages (subagents, continuation) carry the message, location and results in kwargs;
    the task events Flower stores must show only the job id and round."""
    job_id = f"it-{uuid.uuid4().hex[:12]}"
    marker = f"q{uuid.uuid4().hex[:8]}"
    kwargs = {
        "job_id": job_id,
        "message": f"페트병 어떻게 버려? {marker}",
        "user_location": {"latitude": 37.5123, "longitude": 126.9876},
    }
    backend.send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    deadline = time.monotonic() + 60
    own: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        tasks = flower.get("/api/tasks").json().values()
        own = [t for t in tasks if job_id in str(t.get("kwargs")) and t.get("name") != "eco2.chat.process"]
        if any(t.get("name") == "eco2.chat.continue" and t.get("state") == "SUCCESS" for t in own):
            break
        time.sleep(0.5)
    names = {str(t.get("name")) for t in own}
    assert "eco2.chat.continue" in names, f"continuation not seen: {own}\n{flower.log()}"
    assert any(name.startswith("eco2.subagent.") for name in names), own
    for task in own:
        shown = f"{task.get('args')} {task.get('kwargs')}"
        for secret in (marker, "37.5123", "126.9876"):
            assert secret not in shown, task
        assert task.get("kwargs") == repr({"job_id": job_id, "round": 1}), task
