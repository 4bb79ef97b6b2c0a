"""In-memory event streams with the contract's semantics (seq, reset, snapshot, one terminal event).

Used by ``eco2 chat --inline`` and run through the same conformance tests as the Redis adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from eco2.domain.events import (
    CANCEL_MODES,
    TERMINAL_TYPES,
    Claim,
    EventType,
    JobSnapshot,
    JobStatus,
    StageStatus,
    event_json,
)
from eco2.ports.events import WriteObserver

Listener = Callable[[str, dict[str, str]], None]


@dataclass
class _Job:
    entries: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    seq: int = 0
    status: JobStatus = JobStatus.RUNNING
    intent: str = ""
    answer: str = ""
    updated_ms: int = 0
    message: str | None = None
    cancelled: str = ""


class MemoryJobEvents:
    """Writer of one job; writes immediately (no coalescing needed without a network)."""

    def __init__(self, owner: MemoryEvents, job_id: str, traceparent: str | None) -> None:
        self._owner = owner
        self._job_id = job_id
        self._traceparent = traceparent
        self._observer: WriteObserver | None = None

    def stage(self, stage: str, status: StageStatus, intent: str | None = None) -> None:
        """Append a stage event."""
        fields = {"stage": stage, "status": status.value}
        if intent:
            fields["intent"] = intent
        self._owner.append(self._job_id, EventType.STAGE, fields, self._traceparent)

    def token(self, node: str, delta: str) -> None:
        """Append a token event."""
        if delta:
            started = time.perf_counter()
            written = self._owner.append(
                self._job_id, EventType.TOKEN, {"node": node, "delta": delta}, self._traceparent
            )
            if written and self._observer is not None:
                self._observer.on_flush(1, time.perf_counter() - started)

    def begin_answer(self) -> None:
        """Reset when answer text exists."""
        snapshot = self._owner.snapshot(self._job_id)
        if snapshot is None or not snapshot.answer:
            return
        if self._owner.append(self._job_id, EventType.RESET, {}, self._traceparent) and self._observer:
            self._observer.on_reset()

    def needs_input(self, data: Mapping[str, Any]) -> None:
        """Append a needs_input event."""
        self._owner.append(self._job_id, EventType.NEEDS_INPUT, {"data": event_json(data)}, self._traceparent)

    def done(self, data: Mapping[str, Any]) -> bool:
        """Append the terminal done event (with the streamed answer)."""
        return self._owner.append(self._job_id, EventType.DONE, {"data": dict(data)}, self._traceparent)

    def error(self, code: str, message: str) -> bool:
        """Append the terminal error event."""
        data = event_json({"code": code, "message": message})
        return self._owner.append(self._job_id, EventType.ERROR, {"data": data}, self._traceparent)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """Nothing to release."""

    @property
    def ended(self) -> bool:
        """Whether the job has its terminal event."""
        return self._owner.status(self._job_id) in (JobStatus.DONE, JobStatus.ERROR)

    def withdraw(self) -> bool:
        """Every event is written at once: nothing is ever buffered to withdraw."""
        return False

    def observe(self, observer: WriteObserver | None) -> None:
        """Report writes to ``observer``."""
        self._observer = observer


class MemoryEvents:
    """Implements ``EventStreamPort`` in memory; ``listener`` sees every entry as it is appended."""

    def __init__(self, listener: Listener | None = None) -> None:
        self._jobs: dict[str, _Job] = {}
        self._cond = threading.Condition(threading.RLock())
        self._listener = listener
        self._ids = 0
        self.rejected: list[dict[str, str]] = []

    def open(self, job_id: str, traceparent: str | None = None) -> MemoryJobEvents:
        """A writer for one job."""
        return MemoryJobEvents(self, job_id, traceparent)

    def append(self, job_id: str, kind: EventType, fields: dict[str, Any], traceparent: str | None) -> bool:
        """Append one entry with the Lua script's rules; False when the job already ended."""
        with self._cond:
            job = self._jobs.setdefault(job_id, _Job())
            if job.status in (JobStatus.DONE, JobStatus.ERROR):
                return False
            now = time.time_ns() // 1_000_000
            job.seq += 1
            entry = {"seq": str(job.seq), "type": kind.value, "ts": str(now)}
            if kind is EventType.TOKEN:
                job.answer += fields["delta"]
            elif kind is EventType.RESET:
                job.answer = ""
            elif kind is EventType.DONE:
                data = dict(fields.pop("data"))
                data["answer"] = job.answer
                fields = {"data": event_json(data)}
                job.status = JobStatus.DONE
                job.intent = str(data.get("intent", job.intent))
            elif kind is EventType.ERROR:
                job.status = JobStatus.ERROR
            elif job.status is JobStatus.QUEUED:
                job.status = JobStatus.RUNNING  # its first entry: it runs now (the Lua script does the same)
            if fields.get("intent"):
                job.intent = fields["intent"]
            entry.update(fields)
            if traceparent:
                entry["traceparent"] = traceparent
            self._ids += 1
            stream_id = f"{now}-{self._ids}"
            job.entries.append((stream_id, entry))
            job.updated_ms = now
            self._cond.notify_all()
            if self._listener is not None:
                self._listener(job_id, entry)  # under the lock: listeners see entries in seq order
        return True

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        """The job's snapshot."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            return JobSnapshot(job.status, job.seq, job.intent, job.answer, job.updated_ms, job.cancelled)

    def status(self, job_id: str) -> JobStatus | None:
        """The job's status."""
        snapshot = self.snapshot(job_id)
        return snapshot.status if snapshot else None

    def reject(self, code: str, message: str, job_id: str | None) -> None:
        """Remember a refused job."""
        self.rejected.append({"code": code, "message": message, "job_id": job_id or ""})

    def claim(self, job_id: str, message_id: str, take_over: bool = False) -> Claim:
        """Tie the job to ``message_id`` unless another message holds it or it has ended."""
        with self._cond:
            job = self._jobs.setdefault(job_id, _Job())
            if job.status in (JobStatus.DONE, JobStatus.ERROR):
                return Claim.CANCELLED if job.cancelled else Claim.FINISHED
            if job.message not in (None, message_id) and not take_over:
                return Claim.IN_USE
            job.message = message_id
            return Claim.CLAIMED

    def cancel(self, job_id: str, mode: str = "cancel") -> str:
        """End the job with a ``cancelled`` error unless it has ended."""
        with self._cond:
            job = self._jobs.setdefault(job_id, _Job())
            if job.status in (JobStatus.DONE, JobStatus.ERROR):
                return "finished"
            job.cancelled = mode
            return "cancelled" if self.open(job_id).error("cancelled", CANCEL_MODES[mode]) else "finished"

    def mark_queued(self, job_id: str) -> None:
        """Mark a job as waiting."""
        with self._cond:
            job = self._jobs.setdefault(job_id, _Job())
            if not job.entries:
                job.status = JobStatus.QUEUED

    def follow(
        self, job_id: str, after: str = "0-0", block_ms: int = 1000, timeout_s: float | None = None
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """Yield entries after ``after`` until the terminal one."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        index = 0
        with self._cond:
            job = self._jobs.get(job_id)
            if job is not None and after != "0-0":
                index = next((i + 1 for i, (sid, _) in enumerate(job.entries) if sid == after), 0)
        while deadline is None or time.monotonic() < deadline:
            with self._cond:
                job = self._jobs.setdefault(job_id, _Job())
                if index >= len(job.entries):
                    self._cond.wait(block_ms / 1000)
                    continue
                batch = job.entries[index:]
                index = len(job.entries)
            for stream_id, entry in batch:
                yield stream_id, dict(entry)
                if entry["type"] in TERMINAL_TYPES:
                    return
