"""Celery settings derive from the registry and hold the reliability defaults docs/celery.md explains."""

from __future__ import annotations

import pytest

from eco2.config import Settings
from eco2.domain.registry import ALL_QUEUES, REGISTRY
from eco2.errors import ConfigError
from tasks.celeryconfig import CHAT_TASKS, celery_config
from tasks.heartbeat import HEARTBEAT_S


@pytest.fixture
def conf() -> dict[str, object]:
    return celery_config(Settings.from_env({"ECO2_REDIS_URL": "redis://r:6379/3"}))


def test_json_is_the_only_serializer(conf: dict[str, object]) -> None:
    assert conf["accept_content"] == ["json"]
    assert conf["result_accept_content"] == ["json"]
    assert conf["task_serializer"] == conf["result_serializer"] == conf["event_serializer"] == "json"


def test_every_queue_is_declared_and_every_task_routed_from_the_registry(conf: dict[str, object]) -> None:
    queues = {q.name for q in conf["task_queues"]}  # type: ignore[attr-defined]
    assert queues == {q.value for q in ALL_QUEUES}
    routes = conf["task_routes"]
    assert isinstance(routes, dict)
    for spec in REGISTRY:
        assert routes[spec.task_name] == {"queue": spec.queue.value}
    for name in CHAT_TASKS:
        assert routes[name] == {"queue": "eco2.chat"}


def test_reliability_defaults(conf: dict[str, object]) -> None:
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["worker_send_task_events"] is True
    assert conf["task_send_sent_event"] is True
    # Workers re-score the messages they hold every heartbeat, so a short visibility timeout only returns a
    # dead worker's messages, and does so within seconds (tasks/heartbeat.py).
    transport = conf["broker_transport_options"]
    assert isinstance(transport, dict)
    assert 5 * HEARTBEAT_S <= transport["visibility_timeout"] <= 30
    assert transport["unacked_restore_interval"] <= 10
    assert transport["unacked_restore_throttle"] == 1
    assert conf["task_soft_time_limit"] < conf["task_time_limit"]  # type: ignore[operator]
    assert conf["broker_url"] == conf["result_backend"] == "redis://r:6379/3"


def test_pool_processes_are_recycled_by_memory_not_by_task_count(conf: dict[str, object]) -> None:
    # A count bound rebuilt every process's container every ~170 chats (docs/celery.md has the numbers).
    assert "worker_max_tasks_per_child" not in conf
    assert conf["worker_max_memory_per_child"] == 1024 * 1024  # KiB, Celery's unit
    for mb, kib in (("640", 640 * 1024), ("0", None)):
        settings = Settings.from_env({"ECO2_WORKER_MAX_MEMORY_MB": mb})
        assert celery_config(settings)["worker_max_memory_per_child"] == kib
    with pytest.raises(ConfigError, match="ECO2_WORKER_MAX_MEMORY_MB"):
        Settings.from_env({"ECO2_WORKER_MAX_MEMORY_MB": "lots"})


def test_a_job_timeout_beyond_the_stored_results_lifetime_is_refused() -> None:
    with pytest.raises(ConfigError):
        celery_config(Settings.from_env({"ECO2_JOB_TIMEOUT_S": "7200"}))


def test_every_breaker_used_in_the_code_is_declared_in_the_registry() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "eco2"
    pattern = re.compile(r'(?:ctx\.http\(|UPSTREAM = |upstream: str = |breaker_name: str = )"([a-z_]+)"')
    used = {m.group(1) for path in root.rglob("*.py") for m in pattern.finditer(path.read_text())}
    declared = {name for spec in REGISTRY for name in spec.upstreams}
    assert used
    assert used <= declared, used - declared


def test_an_early_continuation_is_retried_with_growing_delays_then_dropped() -> None:
    from types import SimpleNamespace
    from typing import Any

    from eco2.errors import ContinuationEarlyError
    from tasks.chat import EARLY_RETRIES, retry_if_early

    class RetryError(Exception):
        pass

    class FakeTask:
        """Records what ``Task.retry`` was asked for; Celery's own retry is covered by test_resilience."""

        def __init__(self, retries: int) -> None:
            self.request = SimpleNamespace(retries=retries)
            self.asked: dict[str, Any] = {}

        def retry(self, **options: Any) -> RetryError:
            self.asked = options
            return RetryError()

    def early() -> str:
        raise ContinuationEarlyError("round 1 of job j is not saved yet")

    delays = []
    for retries in range(EARLY_RETRIES):
        task = FakeTask(retries)
        with pytest.raises(RetryError):
            retry_if_early(task, early)  # type: ignore[arg-type]
        assert task.asked["max_retries"] == EARLY_RETRIES
        delays.append(task.asked["countdown"])
    assert delays[0] == pytest.approx(0.02)
    assert delays == sorted(delays)
    assert max(delays) == 1.0
    assert 3 < sum(delays) < 10  # long enough for a slow save, short enough not to hold a lost round
    assert retry_if_early(FakeTask(EARLY_RETRIES), early) == "stale"  # type: ignore[arg-type]
    assert retry_if_early(FakeTask(0), lambda: "done") == "done"  # type: ignore[arg-type]


def test_a_slot_is_a_thread_by_default_and_the_pool_is_configurable(conf: dict[str, object]) -> None:
    assert conf["worker_pool"] == "threads"  # a streaming answer must not hold a whole process
    assert conf["worker_concurrency"] == 200
    chosen = celery_config(Settings.from_env({"ECO2_WORKER_POOL": "prefork", "ECO2_WORKER_CONCURRENCY": "3"}))
    assert (chosen["worker_pool"], chosen["worker_concurrency"]) == ("prefork", 3)
    with pytest.raises(ConfigError, match="ECO2_WORKER_POOL"):
        Settings.from_env({"ECO2_WORKER_POOL": "gevnet"})
    with pytest.raises(ConfigError, match="ECO2_WORKER_CONCURRENCY"):
        Settings.from_env({"ECO2_WORKER_CONCURRENCY": "0"})


def test_a_new_pool_process_has_time_to_build_its_container_on_a_busy_host(conf: dict[str, object]) -> None:
    # ~1.5 s of CPU each; twelve starting together on two cores need ~9 s: Celery's default 4 s killed them.
    assert conf["worker_proc_alive_timeout"] >= 30  # type: ignore[operator]


@pytest.mark.parametrize("url", ["amqp://u:p@rabbit:5672/eco2", "pyamqp://rabbit//", "amqps://rabbit//"])
def test_an_amqp_broker_confirms_publishes_and_keeps_no_visibility_timeout(url: str) -> None:
    settings = Settings.from_env({"ECO2_REDIS_URL": "redis://r:6379/3", "ECO2_BROKER_URL": url})
    assert not settings.broker_is_redis
    conf = celery_config(settings)
    assert conf["broker_url"] == url
    assert conf["result_backend"] == "redis://r:6379/3"  # results and streams stay in Redis
    assert conf["broker_transport_options"] == {"confirm_publish": True}
    assert all(q.durable for q in conf["task_queues"])  # type: ignore[attr-defined]


def test_a_broker_eco2_is_not_tested_on_is_refused_without_echoing_its_url() -> None:
    with pytest.raises(ConfigError, match="ECO2_BROKER_URL") as raised:
        Settings.from_env({"ECO2_BROKER_URL": "sqs://AKIA:secret@queue"})
    assert "secret" not in str(raised.value)
