"""Jobs ended by their deadline: one timeout error, and their trace closed by a process that can."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.memory.sessions import MemorySessionQueue
from eco2.domain.events import StageStatus
from eco2.orchestrator.ending import JobEnding
from eco2.ports.dispatch import JobRef
from tests.fakes import NOOP_METRICS

ROOT = "20250101T000000000000Z" + "0" * 32


class RecordingDispatcher:
    """Records what the ending asks for; ``close_trace`` can be made to fail."""

    def __init__(self, fail_close: bool = False) -> None:
        self.closed: list[tuple[str, str, str]] = []
        self.cancelled: list[str] = []
        self.fail_close = fail_close

    synchronous = False

    def fan_out(self, *_: Any) -> None: ...
    def schedule_deadline(self, *_: Any) -> None: ...

    def cancel_deadline(self, job: JobRef) -> None:
        self.cancelled.append(job.job_id)

    def enqueue_chat(self, kwargs: Mapping[str, Any]) -> None: ...

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        if self.fail_close:
            raise ConnectionError("broker down")
        self.closed.append((job.job_id, outcome, error))


def ending_with(events: MemoryEvents, dispatcher: RecordingDispatcher) -> JobEnding:
    """A job ending whose deadlines, queue and trace closing are all ``dispatcher``; 3 s jobs."""
    return JobEnding(
        events,
        MemorySessionQueue(),
        deadlines=dispatcher,
        queue=dispatcher,
        traces=dispatcher,
        metrics=NOOP_METRICS,
        job_timeout_s=3,
    )


def running(events: MemoryEvents, job_id: str) -> None:
    events.open(job_id).stage("intent", StageStatus.STARTED)


def last_event(events: MemoryEvents, job_id: str) -> dict[str, str]:
    return [fields for _id, fields in events.follow(job_id, timeout_s=2)][-1]


def test_an_expired_traced_job_asks_for_its_trace_to_be_closed() -> None:
    events, dispatcher = MemoryEvents(), RecordingDispatcher()
    ending = ending_with(events, dispatcher)
    running(events, "slow")
    assert ending.expire(JobRef("slow", "job:slow", root_run=ROOT)) == "expired"
    assert json.loads(last_event(events, "slow")["data"])["code"] == "timeout"
    ((job_id, outcome, error),) = dispatcher.closed
    assert (job_id, outcome) == ("slow", "timeout")
    assert "3s" in error
    assert dispatcher.cancelled == ["slow"]


@pytest.mark.parametrize("root_run", [None, ROOT])
def test_nothing_is_closed_for_an_untraced_or_already_finished_job(root_run: str | None) -> None:
    events, dispatcher = MemoryEvents(), RecordingDispatcher()
    ending = ending_with(events, dispatcher)
    if root_run is None:
        running(events, "j")
        assert ending.expire(JobRef("j", "job:j")) == "expired"
    else:
        events.open("j").done({"intent": "general"})
        assert ending.expire(JobRef("j", "job:j", root_run=root_run)) == "finished"
    assert dispatcher.closed == []


def test_a_broker_that_refuses_the_close_does_not_fail_the_sweep() -> None:
    events, dispatcher = MemoryEvents(), RecordingDispatcher(fail_close=True)
    ending = ending_with(events, dispatcher)
    running(events, "slow")
    assert ending.expire(JobRef("slow", "job:slow", root_run=ROOT)) == "expired"
    assert last_event(events, "slow")["type"] == "error"
