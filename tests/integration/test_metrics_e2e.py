"""Metrics across processes: two worker pools of one host share one registry behind one endpoint; a killed
pool process's counts survive (folded), its share of the active-streams gauge vanishes; Pushgateway."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from celery import Celery

from eco2.localrun import Worker, free_port
from tests.conftest import worker_env
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]


def sample(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(port: int) -> str:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    return response.text


def chat(url: str, message: str) -> dict[str, object]:
    job = f"mx-{uuid.uuid4().hex[:10]}"
    Celery(broker=url).send_task("eco2.chat.process", kwargs={"job_id": job, "message": message}, queue="eco2.chat")
    return terminal(collect(redis.Redis.from_url(url), job))


@pytest.fixture
def pushgateway() -> Iterator[str]:
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if binary is None:
        pytest.fail("prometheus-pushgateway is not installed (.ci/setup installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/-/ready", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def test_one_endpoint_aggregates_every_pool_of_the_host(redis_url: str, tmp_path: Path, pushgateway: str) -> None:
    port = free_port()
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999999.db").write_bytes(b"stale file of a previous boot")
    env = worker_env(
        redis_url,
        tmp_path / "state",
        ECO2_METRICS_DIR=str(metrics_dir),
        ECO2_METRICS_PORT=str(port),
        ECO2_METRICS_JANITOR_S="0.5",
        ECO2_PUSHGATEWAY_URL=pushgateway,
        ECO2_PUSH_INTERVAL_S="0.5",
    )
    with (
        Worker(env, launcher="eco2", queues=["eco2.chat", "eco2.cpu"], concurrency=1) as chat_pool,
        Worker(env, launcher="eco2", queues=["eco2.io"], concurrency=1),
    ):
        assert not (metrics_dir / "counter_999999999.db").exists()  # wiped by the first worker of the host
        assert [chat(redis_url, m)["_type"] for m in ("페트병 어떻게 버려?", "안녕하세요", "소파 버리는 법")] == [
            "done"
        ] * 3
        text = scrape(port)
        assert sample(text, "chat_requests_total", status="success") == 3
        # waste_rag (eco2.cpu pool) ran for the PET bottle; without a key bulk_waste answers the sofa with
        # typical fees itself (issue 14), in the chat process, so no waste_rag fallback runs any more
        assert sample(text, "chat_subagent_calls_total", subagent="waste_rag") == 1
        assert sample(text, "chat_subagent_calls_total", subagent="bulk_waste", status="ok") == 1
        assert sample(text, "chat_subagent_calls_total", subagent="general") == 1  # eco2.io pool: other process
        assert sample(text, "chat_stream_active") == 0
        assert sample(text, "eco2_metrics_dir_files") > 0

        (child,) = chat_pool.children()
        before = sample(text, "chat_requests_total")
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(re.search(rf"_{child}\.db$", p.name) for p in metrics_dir.iterdir()):
            time.sleep(0.2)
        assert not [p.name for p in metrics_dir.iterdir() if p.name.endswith(f"_{child}.db")]
        after = scrape(port)
        assert sample(after, "chat_requests_total") == before  # the dead process's counts were kept
        assert chat(redis_url, "우유팩 버리는 법")["_type"] == "done"
        assert sample(scrape(port), "chat_requests_total") == before + 1

        time.sleep(1.5)
        pushed = requests.get(pushgateway + "/metrics", timeout=5).text
        assert sample(pushed, "chat_requests_total", job="eco2") == before + 1


def test_a_stream_whose_process_dies_is_not_counted_as_active_forever(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = worker_env(
        redis_url,
        tmp_path / "state",
        ECO2_METRICS_DIR=str(tmp_path / "prom"),
        ECO2_METRICS_PORT=str(port),
        ECO2_METRICS_JANITOR_S="0.5",
        ECO2_TEST_ANSWER_PIECES="60",
        ECO2_TEST_ANSWER_DELAY_S="0.05",
    )
    with Worker(env, app="tests.support.fault_app", launcher="eco2", concurrency=1) as worker:
        job = f"mx-{uuid.uuid4().hex[:10]}"
        Celery(broker=redis_url).send_task(
            "eco2.chat.process", kwargs={"job_id": job, "message": "페트병"}, queue="eco2.chat"
        )
        client = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + 30
        while len(client.get(f"eco2:chat:{job}:answer") or b"") <= 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sample(scrape(port), "chat_stream_active") == 1  # streaming now, text already out
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)  # no finally, no finish(): the process is simply gone
        assert terminal(collect(redis.Redis.from_url(redis_url), job))["_type"] == "done"  # redelivered
        deadline = time.monotonic() + 10
        while sample(scrape(port), "chat_stream_active") != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        text = scrape(port)
        assert sample(text, "chat_stream_active") == 0
        assert sample(text, "chat_stream_recovery_total", type="reset") == 1
        assert sample(text, "chat_stream_requests_total", status="success") == 1


def test_the_design_cards_own_start_command_prepares_a_missing_metrics_directory(
    redis_url: str, tmp_path: Path
) -> None:
    # `celery -A tasks worker`, not `eco2 worker`: nothing created the directory before Celery started.
    port = free_port()
    metrics_dir = tmp_path / "not" / "created" / "yet"
    env = worker_env(
        redis_url, tmp_path / "state", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), ECO2_METRICS_PORT=str(port)
    )
    with Worker(env, pool=None, concurrency=None, launcher="celery") as worker:
        assert chat(redis_url, "페트병 어떻게 버려?")["_type"] == "done"
        assert any(metrics_dir.glob("*.db"))  # the process's metric files live there
        assert sample(scrape(port), "chat_requests_total", status="success") == 1
    assert "DuplicateTimeseries" not in worker.log_path.read_text(errors="replace")


def test_another_worker_of_the_host_takes_the_metrics_port_over(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = worker_env(
        redis_url, tmp_path / "state", ECO2_METRICS_DIR=str(tmp_path / "prom"), ECO2_METRICS_PORT=str(port)
    )
    one_process = ["--processes", "1"]
    with Worker(env, launcher="eco2", pool=None, concurrency=None, extra_args=one_process) as first:
        assert "eco2_metrics_dir_files" in scrape(port)  # the first worker serves the host
        with Worker(env, launcher="eco2", pool=None, concurrency=None, extra_args=one_process) as second:
            first.proc.kill()  # the process holding the port dies without a shutdown
            first.proc.wait(10)
            deadline = time.monotonic() + 15
            while True:
                try:
                    text = scrape(port)
                    break
                except requests.RequestException:
                    assert time.monotonic() < deadline, "nobody took the metrics port over"
                    time.sleep(0.5)
            assert second.proc.poll() is None
            assert chat(redis_url, "페트병 어떻게 버려?")["_type"] == "done"
            assert sample(scrape(port), "chat_requests_total", status="success") >= 1
    assert "eco2_metrics_dir_files" in text
