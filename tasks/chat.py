"""Chat tasks: thin entrypoints that decode arguments, call the chat service and return its outcome."""

from __future__ import annotations

from typing import Any

from celery import Task

from eco2.errors import StreamError
from eco2.ports.dispatch import JobRef
from tasks.app import app
from tasks.runtime import container

# Transient Redis failures are retried; everything else is turned into an error event by the service.
_RETRY = {
    "autoretry_for": (StreamError,),
    "retry_backoff": 0.5,
    "retry_backoff_max": 10,
    "retry_jitter": True,
    "max_retries": 5,
}


@app.task(name="eco2.chat.process", bind=True, **_RETRY)
def process(self: Task, *args: Any, **kwargs: Any) -> str:
    """Public entry (``eco2.chat.process`` on ``eco2.chat``): validate and start a chat job."""
    return container().service.accept(args, kwargs)


@app.task(name="eco2.chat.continue", bind=True, **_RETRY)
def continue_job(self: Task, results: list[dict[str, Any]], *, job: dict[str, Any], round_no: int) -> str:
    """Chord callback: resume the graph with one round's subagent results."""
    return container().service.resume(JobRef.from_dict(job), round_no, results)


@app.task(name="eco2.chat.round_failed", bind=True, **_RETRY)
def round_failed(
    self: Task,
    request: Any,
    exc: BaseException,
    traceback: Any,
    *,
    job: dict[str, Any],
    round_no: int,
    subagents: list[str],
) -> str:
    """Chord error callback: a subagent task died (e.g. hard time limit); continue without the round."""
    return container().service.round_failed(JobRef.from_dict(job), round_no, subagents, type(exc).__name__)


@app.task(name="eco2.chat.deadline", bind=True, **_RETRY)
def deadline(self: Task, *, job: dict[str, Any]) -> str:
    """Delayed safety net: end the job with a timeout error if it is still running."""
    return container().service.expire(JobRef.from_dict(job))
