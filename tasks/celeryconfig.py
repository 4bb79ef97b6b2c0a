"""Celery settings derived from eco2's settings and subagent registry (one declaration, no drift).

Why each reliability default is set is explained in docs/celery.md.
"""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue as KombuQueue

from eco2.config import AMQP_TRANSPORT_OPTIONS, Settings
from eco2.dispatch.celery_canvas import (
    TASK_CANCEL,
    TASK_CLOSE_TRACE,
    TASK_CONTINUE,
    TASK_PROCESS,
    TASK_ROUND_FAILED,
)
from eco2.domain.registry import ALL_QUEUES, HARD_LIMIT_GRACE_S, REGISTRY, Queue
from eco2.errors import ConfigError
from tasks.heartbeat import HEARTBEAT_S, RESTORE_INTERVAL_S, VISIBILITY_TIMEOUT_S

CHAT_TASKS = (TASK_PROCESS, TASK_CONTINUE, TASK_ROUND_FAILED, TASK_CLOSE_TRACE, TASK_CANCEL)
RESULT_VISIBILITY_TIMEOUT_S = 3600
RESULT_EXPIRES_S = 3600
PROC_ALIVE_TIMEOUT_S = 60.0


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Options of the broker's transport: Redis needs a short visibility timeout (tasks/heartbeat.py);
    AMQP requeues a dead consumer's messages itself and confirms every publish, so an accepted job or a
    subagent round is on the broker's disk before ``send_task`` returns."""
    if settings.broker_is_redis:
        return {
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "unacked_restore_interval": RESTORE_INTERVAL_S,
            "unacked_restore_throttle": 1,  # sweep on every interval, not one in ten
        }
    return dict(AMQP_TRANSPORT_OPTIONS)


def celery_config(settings: Settings) -> dict[str, Any]:
    """The ``app.conf`` mapping for ``settings``."""
    step_soft = float(settings.answer_timeout_s)
    # A message unacknowledged for visibility_timeout is redelivered. Workers re-score the messages they hold
    # every heartbeat (tasks/heartbeat.py), so the timeout need not exceed any task's run time, only a few
    # heartbeats: a killed worker's messages then come back within seconds instead of an hour.
    if VISIBILITY_TIMEOUT_S < 5 * HEARTBEAT_S:
        raise ConfigError("the visibility timeout must span several worker heartbeats")
    # A round's stored subagent results (and chord bookkeeping) expire after result_expires.
    if settings.job_timeout_s >= RESULT_EXPIRES_S:
        raise ConfigError(f"ECO2_JOB_TIMEOUT_S must be under {RESULT_EXPIRES_S} s (stored results expire then)")
    routes: dict[str, dict[str, str]] = {name: {"queue": Queue.CHAT.value} for name in CHAT_TASKS}
    routes.update({spec.task_name: {"queue": spec.queue.value} for spec in REGISTRY})
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "event_serializer": "json",
        "task_queues": [KombuQueue(q.value, routing_key=q.value) for q in ALL_QUEUES],
        "task_default_queue": Queue.CHAT.value,
        "task_routes": routes,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Threads by default: a chat streams for seconds while it mostly waits on the model, so a slot must
        # not be a whole process (docs/celery.md, "Pools: why threads by default").
        "worker_pool": settings.worker_pool,
        "worker_concurrency": settings.worker_concurrency,
        "task_soft_time_limit": step_soft,
        "task_time_limit": step_soft + HARD_LIMIT_GRACE_S,
        "broker_transport_options": broker_transport_options(settings),
        "result_backend_transport_options": {"visibility_timeout": RESULT_VISIBILITY_TIMEOUT_S},
        "result_expires": RESULT_EXPIRES_S,
        "worker_soft_shutdown_timeout": 10.0,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        # Recycle a pool process when it has grown, not after a task count: a new process builds its
        # container (~1.5 s), which a count bound paid every ~170 chats (docs/celery.md).
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024 or None,
        # A new prefork process builds its container (~1.5 s of CPU) before it reports UP. Celery's 4 s
        # killed processes that many new ones were sharing the cores with (a pool restarting at once after
        # a reconnect, on a busy node), and their replacements the same way, in a loop.
        "worker_proc_alive_timeout": PROC_ALIVE_TIMEOUT_S,
        "worker_hijack_root_logger": False,
        # A message the worker cannot run is refused and recorded instead of killing the consumer.
        "worker_consumer": "tasks.consumer:Consumer",
    }
