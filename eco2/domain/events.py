"""Event and snapshot vocabulary of the public stream contract (docs/contract.md).

Each job has one Redis Stream ``{prefix}:chat:{job_id}:events`` whose entries carry string fields only:
``seq``, ``type``, ``ts`` and, by type, ``stage``/``status``, ``node``/``delta`` or ``data`` (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """The ``type`` field of a stream entry."""

    STAGE = "stage"
    TOKEN = "token"  # noqa: S105 - an event type, not a credential
    RESET = "reset"
    NEEDS_INPUT = "needs_input"
    DONE = "done"
    ERROR = "error"


TERMINAL_TYPES = frozenset({EventType.DONE, EventType.ERROR})


def event_json(data: Mapping[str, Any]) -> str:
    """The ``data`` field of an entry: compact, UTF-8 as is, keys sorted (the same bytes in every adapter)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class StageStatus(StrEnum):
    """The ``status`` field of a ``stage`` event."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class JobStatus(StrEnum):
    """The ``status`` field of a job snapshot."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"


class Claim(StrEnum):
    """What a message carrying a ``job_id`` finds when it claims that job (``EventStreamPort.claim``)."""

    CLAIMED = "claimed"
    """The job is this message's: the first to carry it, or the same message again (redelivered, retried)."""
    IN_USE = "in_use"
    """Another message carries the same ``job_id`` and its job has not ended."""
    FINISHED = "finished"
    """The job has already ended."""
    CANCELLED = "cancelled"
    """The job was cancelled (possibly before any worker took it): it has ended, quietly."""


CANCEL_MODES = {
    "cancel": "the chat was cancelled",
    "interrupt": "a newer message of the session interrupted it",
    "rollback": "a newer message of the session replaced it",
}
"""How a job can be cancelled, with the message of its ``cancelled`` error event."""


@dataclass(frozen=True, slots=True)
class StreamKeys:
    """Redis keys of one job; the naming is part of the public contract."""

    events: str
    """Public: the job's event stream."""
    snapshot: str
    """Public: the snapshot hash for late readers."""
    seq: str
    """Internal: the seq counter (outlives task retries, so seq is never reused)."""
    answer: str
    """Internal: the running answer, appended per flush (the snapshot holds a consistent copy)."""

    @classmethod
    def for_job(cls, prefix: str, job_id: str) -> StreamKeys:
        """Keys for ``job_id`` under ``prefix`` (``eco2`` by default)."""
        base = f"{prefix}:chat:{job_id}"
        return cls(events=f"{base}:events", snapshot=f"{base}:snapshot", seq=f"{base}:seq", answer=f"{base}:answer")


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What a late reader needs to start from: the answer as of ``last_seq``, then entries after it."""

    status: JobStatus
    last_seq: int
    """The seq the ``answer`` copy is consistent with (equals the last event's seq once the job ended)."""
    intent: str
    answer: str
    updated_ms: int
    cancelled: str = ""
    """How the job was cancelled, if it was: ``cancel``, ``interrupt`` or ``rollback`` (its terminal event
    is then an ``error`` of code ``cancelled``)."""
