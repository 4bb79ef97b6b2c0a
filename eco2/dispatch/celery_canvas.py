"""The scheduling ports on Celery: rounds as chords, queued jobs and trace closing as messages by name.

The orchestrator never waits on a result: ``fan_out`` only sends messages, so one worker process with
``-c 1`` can serve every queue without deadlocking. Deadlines are not Celery's: see
``eco2.adapters.redis_streams.deadlines``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Celery, chord

from eco2.domain.registry import Queue, spec_for
from eco2.domain.subagents import SubagentQuery
from eco2.ports.dispatch import JobRef

TASK_PROCESS = "eco2.chat.process"
TASK_CONTINUE = "eco2.chat.continue"
TASK_ROUND_FAILED = "eco2.chat.round_failed"
TASK_CLOSE_TRACE = "eco2.chat.close_trace"
TASK_CANCEL = "eco2.chat.cancel"
"""Public (docs/contract.md): end a queued or running job with an ``error`` of code ``cancelled``."""


class CeleryRounds:
    """Implements ``FanOutPort`` with Celery signatures sent by name (no task imports needed)."""

    synchronous = False

    def __init__(self, app: Celery) -> None:
        self._app = app

    def fan_out(
        self,
        job: JobRef,
        round_no: int,
        subagents: Sequence[str],
        query: SubagentQuery,
        ready: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Send the round: ``chord(subagents)(continue)`` with an error callback.

        A round of one subagent is that task with the continuation linked to it instead: a chord's
        bookkeeping (the group's stored results, a counter per finished task) buys nothing for one task,
        and the linked continuation gets the result without it being stored. A round with nothing to run
        (every result ``ready``) is the continuation alone.
        """
        job_kwargs = job.to_dict()
        shown = _shown(job, round_no)
        body = self._app.signature(
            TASK_CONTINUE,
            kwargs={"job": job_kwargs, "round_no": round_no, "ready": list(ready)},
            queue=Queue.CHAT.value,
            argsrepr=f"[{len(subagents)} subagent results]",
            kwargsrepr=shown,
        )
        errback = self._app.signature(
            TASK_ROUND_FAILED,
            kwargs={"job": job_kwargs, "round_no": round_no, "subagents": list(subagents), "ready": list(ready)},
            queue=Queue.CHAT.value,
            kwargsrepr=shown,
        )
        if not subagents:
            body.apply_async(args=([],))
            return
        query_kwargs, sent_at = query.to_dict(), time.time()
        header = []
        for name in subagents:
            spec = spec_for(name)
            header.append(
                self._app.signature(
                    spec.task_name,
                    kwargs={"job": job_kwargs, "query": query_kwargs, "sent_at": sent_at},
                    queue=spec.queue.value,
                    soft_time_limit=spec.timeout_s,
                    time_limit=spec.hard_timeout_s,
                    kwargsrepr=shown,
                )
            )
        if len(header) == 1:
            (task,) = header
            task.options["ignore_result"] = True  # the linked continuation receives it directly
            task.link(body)
            task.link_error(errback)
            task.apply_async()
            return
        body.on_error(errback)
        chord(header, app=self._app)(body)


class CeleryChatQueue:
    """Implements ``ChatQueuePort``: the public task by name, exactly as an external backend sends it."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def enqueue_chat(self, kwargs: Mapping[str, Any], message_id: str | None = None) -> None:
        """Enqueue a job by its public task name, exactly as an external backend does (task id ``message_id``)."""
        self._app.send_task(
            TASK_PROCESS,
            kwargs=dict(kwargs),
            queue=Queue.CHAT.value,
            task_id=message_id,
            kwargsrepr=repr({"job_id": kwargs.get("job_id")}),
        )


class CeleryTraceCloser:
    """Implements ``TraceCloserPort``: a pool process (it has the tracing client) ends the root run."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        """Send ``eco2.chat.close_trace``: a pool process ends the root run (it has the tracing client)."""
        self._app.send_task(
            TASK_CLOSE_TRACE,
            kwargs={"job": job.to_dict(), "outcome": outcome, "error": error},
            queue=Queue.CHAT.value,
            kwargsrepr=repr({"job_id": job.job_id, "outcome": outcome}),
        )


def _shown(job: JobRef, round_no: int) -> str:
    """What task events (Flower, celery-exporter, logs) show of eco2's own messages: ids, never content.

    Celery puts ``repr(kwargs)`` into every task event by default; for these messages that would be the
    user's message, location and user id, and (in the continuation's arguments) every subagent's result.
    Building the short form also spares the sender a ``saferepr`` of each message.
    """
    return repr({"job_id": job.job_id, "round": round_no})
