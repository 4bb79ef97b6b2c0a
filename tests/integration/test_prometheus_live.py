"""A real Prometheus scrapes real workers running real chats; every dashboard query goes to its HTTP API.

Each query must parse, and the main panels must return data; the rule file must load and evaluate
without errors.
"""

from __future__ import annotations

import json
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
from tests.support.exporter import Exporter
from tests.support.prometheus import LocalPrometheus
from tests.support.streams import collect

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "helm" / "eco2" / "dashboards"
RULES = ROOT / "helm" / "eco2" / "rules" / "eco2.rules.yaml"
VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "5m",
    "$__interval": "15s",
    "$intent": ".*",
    "$subagent": ".*",
    "$task": ".*",
    "$queue_name": ".*",
}
MAIN_PANELS = {
    "token-streaming": {
        "Active Streams",
        "Tokens/sec by Node",
        "P95 Redis Write Latency",
        "P95 Stream Duration",
        "Token Emission Rate by Node",
        "Stream Duration Distribution",
        "Stream Outcomes",
    },
    "pipeline": {
        "Requests/sec",
        "P95 Request Latency",
        "P95 Time to First Token",
        "Requests by Intent and Status",
        "Request Latency by Intent",
        "Errors by Intent and Type",
        "Classified Intents",
        "Intent Classification Latency",
        "Subagent Calls by Status",
        "Subagent Latency",
        "Subagent Queue Wait",
        "Fallbacks",
        "Partial Answers",
    },
    "celery": {
        "Workers Up",
        "Tasks Received/sec",
        "Task Events",
        "Succeeded by Task",
        "Task Runtime",
        "Queue Length",
        "Worker Up",
    },
}
MESSAGES = [
    "페트병 어떻게 버려?",
    "안녕하세요",
    "소파 버리는 법",
    "근처 재활용센터 어디야?",
    "양자역학 설명해줘",
    # Without keys web_search falls back to general: the Fallbacks panel's data (bulk_waste no longer falls
    # back without its key: it answers with typical fees, issue 14).
    "2026년 분리배출 제도 바뀐 거 뉴스 검색해줘",
    "   ",
]


def expand(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def panels(dashboard: str) -> Iterator[tuple[str, str]]:
    data = json.loads((DASHBOARDS / f"{dashboard}.json").read_text())
    stack = list(data["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], expand(target["expr"])


def run_chats(url: str) -> None:
    backend = Celery(broker=url)
    client = redis.Redis.from_url(url)
    jobs = []
    for message in MESSAGES:
        job = f"prom-{uuid.uuid4().hex[:8]}"
        backend.send_task("eco2.chat.process", kwargs={"job_id": job, "message": message}, queue="eco2.chat")
        jobs.append(job)
    for job in jobs:
        collect(client, job)


def test_every_dashboard_query_parses_and_main_panels_have_data(
    redis_url: str, tmp_path: Path, exporter_venv: Path
) -> None:
    port = free_port()
    env = worker_env(
        redis_url, tmp_path / "state", ECO2_METRICS_DIR=str(tmp_path / "prom"), ECO2_METRICS_PORT=str(port)
    )
    with Worker(env, launcher="eco2", concurrency=2):
        exporter = Exporter(exporter_venv, env, tmp_path / "exporter.log")
        exporter_target = exporter.base.removeprefix("http://")
        prometheus = LocalPrometheus([f"127.0.0.1:{port}"], rule_files=[RULES], slow_targets=[exporter_target])
        try:
            deadline = time.monotonic() + 30
            while not prometheus.targets_up() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert prometheus.targets_up(), [(t["scrapeUrl"], t["lastError"]) for t in prometheus.targets()]
            # Two batches a few scrapes apart, so every series has an increase for rate() to see.
            run_chats(redis_url)
            time.sleep(6)
            run_chats(redis_url)
            time.sleep(11)  # two scrapes of the exporter (every 5 s) after the last chat
            empty: list[str] = []
            for dashboard in ("token-streaming", "pipeline", "celery"):
                for title, expr in panels(dashboard):
                    answer = prometheus.query(expr)
                    assert answer["status"] == "success", (dashboard, title, expr, answer)
                    if title in MAIN_PANELS.get(dashboard, ()) and not answer["data"]["result"]:
                        empty.append(f"{dashboard}/{title}: {expr}")
            assert not empty, "main panels without data:\n" + "\n".join(empty)
            groups = requests.get(prometheus.url + "/api/v1/rules", timeout=5).json()["data"]["groups"]
            assert groups
            broken = [
                (rule["name"], rule.get("lastError"))
                for group in groups
                for rule in group["rules"]
                if rule.get("health") == "err"
            ]
            assert not broken
        finally:
            prometheus.stop()
            exporter.stop()
