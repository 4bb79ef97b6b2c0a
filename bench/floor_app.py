"""Celery app module for ``bench/bench_floor.py``: the bench app (``bench.fake_app``) with parts of eco2
taken out, to measure how fast a chat could be without them.

``BENCH_FLOOR`` picks the variant:
  ``graphless``  eco2's tasks, dispatcher, subagent runner and event streams, but no LangGraph: the entry
                 task fans the same round out at once and the continuation writes the answer and ``done``;
  ``bare``       the same without deadlines and stream writes but the terminal ``done`` (like the raw
                 chord's callback): Celery's chord plus eco2's task code.
These are measuring tools, not a way to run eco2: nothing here is reachable from ``tasks``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bench.fake_app import BENCH_INTENTS, InstantSubagent, InstantWriter, app
from bench.fake_app import _factory as bench_factory
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.bootstrap import Container, Scheduling
from eco2.domain.events import StageStatus
from eco2.domain.registry import REGISTRY
from eco2.domain.request import parse_request
from eco2.domain.subagents import SubagentQuery
from eco2.orchestrator.routing import plan_for
from eco2.ports.dispatch import JobRef
from eco2.ports.events import EventStreamPort, JobEventsPort
from eco2.subagents.progress import report_withdrawn
from eco2.subagents.runner import SubagentRunner
from tasks import runtime

__all__ = ["app"]

MODE = os.environ.get("BENCH_FLOOR", "graphless")


class _Unwritten:
    """A job writer that writes nothing (``bare``)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: True


class UnwrittenEvents:
    """An event stream that writes nothing (``bare``)."""

    def open(self, job_id: str, traceparent: str | None = None) -> JobEventsPort:
        return _Unwritten()  # type: ignore[return-value]


class GraphlessService:
    """What the chat tasks call, without the graph: one round of the bench's intents, then the answer."""

    def __init__(self, events: EventStreamPort, scheduling: Scheduling, bare: bool) -> None:
        self._terminal = events  # the reader needs ``done`` to see the chat end
        self._events: EventStreamPort = UnwrittenEvents() if bare else events  # type: ignore[assignment]
        self._scheduling = scheduling
        self._deadlines = not bare
        self._intents = [intent.value for intent in BENCH_INTENTS]
        self._round = plan_for(self._intents)

    def accept(self, args: Sequence[Any], kwargs: Mapping[str, Any], traceparent: str | None = None) -> str:
        request = parse_request(tuple(args), kwargs)
        job = JobRef(request.job_id, f"job:{request.job_id}", None, None, accepted_at=time.time())
        events = self._events.open(request.job_id)
        events.stage("intent", StageStatus.STARTED)
        events.stage("intent", StageStatus.COMPLETED, self._intents[0])
        events.close()
        query = SubagentQuery.for_request(request, self._intents, None)
        self._scheduling.rounds.fan_out(job, 1, self._round, query)
        if self._deadlines:
            self._scheduling.deadlines.schedule_deadline(job, 120)
        return "started"

    def resume(self, job: JobRef, round_no: int, results: Sequence[Mapping[str, Any]]) -> str:
        events = self._events.open(job.job_id)
        report_withdrawn(events, results)  # as eco2's continuation does
        events.begin_answer()
        for piece in InstantWriter().stream(None):  # type: ignore[arg-type]  # the writer ignores its input
            events.token("answer", piece)
        ending = events if self._events is self._terminal else self._terminal.open(job.job_id)
        ending.done({"intent": self._intents[0], "subagents": {r["name"]: r["status"] for r in results}})
        if self._deadlines:
            self._scheduling.deadlines.cancel_deadline(job)
        return "done"

    def round_failed(self, job: JobRef, round_no: int, subagents: Sequence[str], reason: str) -> str:
        return self.resume(job, round_no, [{"name": name, "status": "failed"} for name in subagents])

    def close_trace(self, job: JobRef, outcome: str, error: str) -> str:
        return "untraced"


def _factory() -> Container:
    container = bench_factory()
    bare = MODE == "bare"
    runner = container.runner
    if bare:
        runner = SubagentRunner(
            {spec.name: InstantSubagent(spec.name) for spec in REGISTRY},
            UnwrittenEvents(),
            metrics=NoOpMetricsAdapter(),
            telemetry=NoOpTelemetryConfig(),
        )
    service = GraphlessService(container.events, runtime.celery_scheduling(), bare)
    return dataclasses.replace(container, service=service, runner=runner)  # type: ignore[arg-type]


runtime.set_factory(_factory)
