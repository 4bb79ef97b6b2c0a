"""One Celery task per registry entry, generated from the declaration (name, queue, limits, retries)."""

from __future__ import annotations

import random
from typing import Any

from celery import Task

from eco2.domain.registry import REGISTRY, SubagentSpec
from eco2.domain.subagents import SubagentQuery
from eco2.errors import RetryableError
from eco2.ports.dispatch import JobRef
from tasks.app import app
from tasks.runtime import container


def backoff_s(spec: SubagentSpec, retries: int) -> float:
    """Exponential backoff with full jitter, capped at the subagent's timeout."""
    ceiling = min(spec.retry_backoff_s * (2**retries), spec.timeout_s)
    return random.uniform(spec.retry_backoff_s / 2, max(ceiling, spec.retry_backoff_s / 2))


def _register(spec: SubagentSpec) -> Task[Any, dict[str, Any]]:
    def run(
        self: Task[Any, dict[str, Any]], *, job: dict[str, Any], query: dict[str, Any], sent_at: float | None = None
    ) -> dict[str, Any]:
        retries = int(self.request.retries or 0)
        try:
            result = container().runner.run(
                spec.name,
                SubagentQuery.from_dict(query),
                job.get("traceparent"),
                attempt=retries + 1,
                final_attempt=retries >= spec.max_retries,
                sent_at=sent_at,
                job=JobRef.from_dict(job),
            )
        except RetryableError as exc:
            raise self.retry(exc=exc, countdown=backoff_s(spec, retries)) from exc
        return result.to_dict()

    run.__name__ = run.__qualname__ = f"subagent_{spec.name}"
    run.__doc__ = f"Subagent task ``{spec.task_name}``: {spec.description}."
    task: Task[Any, dict[str, Any]] = app.task(
        name=spec.task_name,
        bind=True,
        queue=spec.queue.value,
        soft_time_limit=spec.timeout_s,
        time_limit=spec.hard_timeout_s,
        max_retries=spec.max_retries,
    )(run)
    return task


TASKS: dict[str, Task[Any, dict[str, Any]]] = {spec.name: _register(spec) for spec in REGISTRY}
