"""Chat tasks: thin entrypoints that decode arguments, call the chat service and return its outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task

from eco2.dispatch.celery_canvas import (
    TASK_CANCEL,
    TASK_CLOSE_TRACE,
    TASK_CONTINUE,
    TASK_PROCESS,
    TASK_ROUND_FAILED,
)
from eco2.domain.registry import Queue
from eco2.errors import ContinuationEarlyError, StreamError
from eco2.ports.dispatch import JobRef
from tasks.app import app
from tasks.runtime import container

log = logging.getLogger(__name__)


def chat_task(name: str) -> Callable[[Callable[..., str]], Task[Any, str]]:
    """The one decorator of every chat task: bound, on ``eco2.chat``, transient Redis errors retried.

    Everything else is turned into an ``error`` event by the service, so only ``StreamError`` (Redis
    unreachable) is retried here, with jittered exponential backoff. The outcome a chat task returns is
    for logs and Flower only: answers live in the job's stream and nobody waits on a chat task, so its
    result (and ``STARTED`` state) is not stored, which saves two result-backend writes per task.
    """
    decorator: Callable[[Callable[..., str]], Task[Any, str]] = app.task(
        name=name,
        bind=True,
        queue=Queue.CHAT.value,
        ignore_result=True,
        autoretry_for=(StreamError,),
        retry_backoff=1,
        retry_backoff_max=10,
        retry_jitter=True,
        max_retries=5,
    )
    return decorator


@chat_task(TASK_PROCESS)
def process(self: Task[Any, str], *args: Any, **kwargs: Any) -> str:
    """Public entry (``eco2.chat.process`` on ``eco2.chat``): validate and start a chat job."""
    return container().service.accept(args, kwargs, message_id=self.request.id)


EARLY_RETRIES = 10
"""How often a continuation that overtook its checkpoint is retried (20 ms doubling to 1 s: ~5 s in all)."""


def retry_if_early(task: Task[Any, str], call: Callable[[], str]) -> str:
    """Run ``call``; a continuation that came before its checkpoint was saved is retried shortly.

    Past ``EARLY_RETRIES`` the checkpoint will not come (its process died before saving it; the entry
    task is redelivered and sends the round again), so this one is dropped as stale.
    """
    try:
        return call()
    except ContinuationEarlyError as exc:
        retries = int(task.request.retries or 0)
        if retries >= EARLY_RETRIES:
            log.warning("%s; giving up after %d retries", exc, retries)
            return "stale"
        raise task.retry(exc=exc, countdown=min(0.02 * 2**retries, 1.0), max_retries=EARLY_RETRIES) from exc


@chat_task(TASK_CONTINUE)
def continue_job(
    self: Task[Any, str],
    results: list[dict[str, Any]] | dict[str, Any],
    *,
    job: dict[str, Any],
    round_no: int,
    ready: list[dict[str, Any]] | None = None,
) -> str:
    """Round callback: resume the graph with one round's subagent results (a chord's list, or the one
    result of a single linked subagent) and the results that needed no task."""
    answered = [*(results if isinstance(results, list) else [results]), *(ready or [])]
    ref = JobRef.from_dict(job)
    return retry_if_early(self, lambda: container().service.resume(ref, round_no, answered))


@chat_task(TASK_ROUND_FAILED)
def round_failed(
    self: Task[Any, str],
    request: Any,
    exc: BaseException,
    traceback: Any,
    *,
    job: dict[str, Any],
    round_no: int,
    subagents: list[str],
    ready: list[dict[str, Any]] | None = None,
) -> str:
    """Round error callback: a subagent task died (e.g. hard time limit); continue without its results."""
    reason = type(exc).__name__
    return container().service.round_failed(JobRef.from_dict(job), round_no, subagents, reason, ready or ())


@chat_task(TASK_CLOSE_TRACE)
def close_trace(self: Task[Any, str], *, job: dict[str, Any], outcome: str, error: str = "") -> str:
    """End the root run of a job the deadline sweeper ended (the worker's main process has no tracer)."""
    return container().service.close_trace(JobRef.from_dict(job), outcome, error)


@chat_task(TASK_CANCEL)
def cancel(self: Task[Any, str], *, job_id: Any) -> str:
    """Public (``eco2.chat.cancel`` on ``eco2.chat``, kwarg ``job_id``): end a queued or running job."""
    return container().service.cancel(job_id)
