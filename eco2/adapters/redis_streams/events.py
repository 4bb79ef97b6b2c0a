"""Writing and reading job event streams in Redis.

Events are buffered per job and written in one ``EVALSHA`` round trip per flush (window
``token_flush_ms``), in call order; adjacent tokens merge into one entry. Terminal events and ``reset``
flush at once. Each flush carries the writer's
id and a batch number, so a retry after a lost reply is recognised by the script and not applied twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import redis

from eco2.adapters.redis_streams.flusher import Flusher, shared_flusher
from eco2.domain.events import TERMINAL_TYPES, EventType, JobSnapshot, JobStatus, StageStatus, StreamKeys, event_json
from eco2.errors import StreamError
from eco2.ports.events import WriteObserver

_SCRIPT = resources.files("eco2.adapters.redis_streams").joinpath("emit.lua").read_text("utf-8")
RESET_IF_ANSWER = "reset?"  # emit.lua: becomes a `reset` entry only when the job has answer text
_FINISHED = 2  # emit.lua's code for "the job already has its terminal event"
REJECTED_MAXLEN = 10_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RedisJobEvents:
    """Event writer of one job (implements ``JobEventsPort``)."""

    def __init__(
        self,
        owner: RedisStreamsEvents,
        job_id: str,
        traceparent: str | None,
        observer: WriteObserver | None = None,
    ) -> None:
        self._owner = owner
        self._keys = StreamKeys.for_job(owner.prefix, job_id)
        self._traceparent = traceparent or ""
        self._writer = uuid.uuid4().hex
        self._batch = 0
        self._pending: list[str] = []
        self._pending_tokens = 0
        self._unsent: list[tuple[int, list[str], int]] = []
        self._scheduled = False
        self._lock = threading.RLock()
        self._failure: BaseException | None = None
        self._finished = False
        self.observer = observer

    # -- the port --------------------------------------------------------------------------------
    def stage(self, stage: str, status: StageStatus, intent: str | None = None) -> None:
        """Buffer a ``stage`` event (written with the next flush, in order)."""
        self._buffer([EventType.STAGE, stage, status.value, intent or ""])

    def token(self, node: str, delta: str) -> None:
        """Buffer a token; adjacent tokens of one node are merged into one entry per flush."""
        if delta:
            self._buffer([EventType.TOKEN, node, delta, ""])

    def begin_answer(self) -> None:
        """Buffer a conditional reset: the script writes ``reset`` only if answer text already exists.

        Deciding on the server saves a round trip and cannot race with the flusher thread.
        """
        self._buffer([RESET_IF_ANSWER, "", "", ""])

    def needs_input(self, data: Mapping[str, Any]) -> None:
        """Buffer a ``needs_input`` event."""
        self._buffer([EventType.NEEDS_INPUT, event_json(data), "", ""])

    def done(self, data: Mapping[str, Any]) -> bool:
        """Write the terminal ``done`` event; the script inserts the streamed answer."""
        body = {key: value for key, value in data.items() if key != "answer"}
        intent = body.get("intent")
        return self._write([EventType.DONE, event_json(body), intent if isinstance(intent, str) else "", ""])

    def error(self, code: str, message: str) -> bool:
        """Write the terminal ``error`` event."""
        return self._write([EventType.ERROR, event_json({"code": code, "message": message}), "", ""])

    def flush(self) -> None:
        """Write buffered tokens now."""
        with self._lock:
            self._raise_failure()
            self._flush_locked()

    def close(self) -> None:
        """Flush what is buffered."""
        self.flush()

    def withdraw(self) -> bool:
        """Drop the buffered events if none of this writer's batches has gone out (or failed to)."""
        with self._lock:
            if self._batch or self._finished or not self._pending:
                return False
            self._pending, self._pending_tokens = [], 0
            return True  # the flusher's scheduled call then finds nothing to send

    def observe(self, observer: WriteObserver | None) -> None:
        """Report flushes and resets to ``observer``."""
        with self._lock:
            self.observer = observer

    # -- internals -------------------------------------------------------------------------------
    def flush_due(self) -> None:
        """Called by the flusher thread when the window of the first buffered token has passed."""
        with self._lock:
            self._scheduled = False
            try:
                self._flush_locked()
            except BaseException as exc:
                self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise StreamError(f"event stream write failed: {failure}") from failure

    def _buffer(self, event: list[str]) -> None:
        """Queue a non-terminal event; the first one of a window schedules the flush."""
        with self._lock:
            self._raise_failure()
            if self._finished:
                return
            pending = self._pending
            if event[0] == EventType.TOKEN:
                self._pending_tokens += 1
                if pending and pending[-4] == EventType.TOKEN and pending[-3] == event[1]:
                    pending[-2] += event[2]
                    return
            pending.extend(event)
            window = self._owner.flush_s
            if window <= 0:
                self._flush_locked()
            elif not self._scheduled:
                self._scheduled = True
                self._owner.flusher.schedule(self, time.monotonic() + window)

    def _write(self, event: list[str]) -> bool:
        with self._lock:
            self._raise_failure()
            if self._finished:
                return False
            self._pending.extend(event)
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        """Send buffered events; True unless the job turned out to be finished already.

        A batch that failed stays queued under its batch number, so sending it again cannot apply it
        twice even if the failed attempt reached Redis.
        """
        if self._pending:
            self._batch += 1
            self._unsent.append((self._batch, self._pending, self._pending_tokens))
            self._pending, self._pending_tokens = [], 0
        written = not self._finished
        while self._unsent:
            batch, events, tokens = self._unsent[0]
            started = time.perf_counter()
            code, resets = self._owner.emit(self._keys, self._traceparent, self._writer, batch, events)
            del self._unsent[0]
            if self.observer is not None:
                if tokens:
                    self.observer.on_flush(tokens, time.perf_counter() - started)
                for _ in range(resets):
                    self.observer.on_reset()
            if code == _FINISHED:
                self._finished, written = True, False
                self._unsent.clear()
            elif events[-4] in TERMINAL_TYPES:
                self._finished = True
        return written


class RedisStreamsEvents:
    """The event stream port on Redis: opens job writers and reads streams and snapshots."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "eco2",
        ttl_s: int = 3600,
        flush_ms: int = 20,
        running_ttl_s: int = 86400,
        flusher: Flusher | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.flush_s = flush_ms / 1000
        self.running_ttl_s = max(running_ttl_s, ttl_s)
        self.flusher = flusher or shared_flusher()
        self._script = client.register_script(_SCRIPT)

    def open(self, job_id: str, traceparent: str | None = None) -> RedisJobEvents:
        """A writer for one job."""
        return RedisJobEvents(self, job_id, traceparent)

    def emit(self, keys: StreamKeys, traceparent: str, writer: str, batch: int, events: list[str]) -> tuple[int, int]:
        """Run the emit script once; returns its code (written, replayed or finished) and resets written."""
        args: list[str | int] = [_now_ms(), self.ttl_s, self.running_ttl_s, traceparent, writer, batch]
        args.extend(events)
        try:
            result = self._script(keys=[keys.events, keys.snapshot, keys.seq, keys.answer], args=args)
        except redis.RedisError as exc:
            raise StreamError(f"writing to {keys.events} failed: {type(exc).__name__}") from exc
        return int(result[1]), int(result[2]) if len(result) > 2 else 0

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        """Read the job's snapshot hash."""
        keys = StreamKeys.for_job(self.prefix, job_id)
        raw = self.client.hgetall(keys.snapshot)
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return JobSnapshot(
            status=JobStatus(fields.get("status", "running")),
            last_seq=int(fields.get("last_seq", "0")),
            intent=fields.get("intent", ""),
            answer=fields.get("answer", ""),
            updated_ms=int(fields.get("updated_ms", "0")),
        )

    def status(self, job_id: str) -> JobStatus | None:
        """Only the snapshot's status field."""
        raw = self.client.hget(StreamKeys.for_job(self.prefix, job_id).snapshot, "status")
        return JobStatus(_text(raw)) if raw else None

    def reject(self, code: str, message: str, job_id: str | None) -> None:
        """Append to ``{prefix}:chat:rejected`` (capped) so operators can see every refused job."""
        fields: dict[str | bytes, str | bytes] = {
            "ts": str(_now_ms()),
            "code": code,
            "message": message,
            "job_id": job_id or "",
        }
        try:
            self.client.xadd(
                f"{self.prefix}:chat:rejected",
                fields,  # type: ignore[arg-type]  # redis-py's dict type is invariant
                maxlen=REJECTED_MAXLEN,
                approximate=True,
            )
        except redis.RedisError as exc:
            raise StreamError(f"recording a rejected job failed: {type(exc).__name__}") from exc

    def mark_queued(self, job_id: str) -> None:
        """Mark a job as waiting behind its session (only when it has not started writing)."""
        keys = StreamKeys.for_job(self.prefix, job_id)
        if self.client.hsetnx(keys.snapshot, "status", JobStatus.QUEUED.value):
            self.client.hset(keys.snapshot, mapping={"last_seq": "0", "updated_ms": str(_now_ms())})
            self.client.expire(keys.snapshot, self.running_ttl_s)

    def follow(
        self, job_id: str, after: str = "0-0", block_ms: int = 1000, timeout_s: float | None = None
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """Yield events after ``after`` until the terminal one, blocking between reads."""
        key = StreamKeys.for_job(self.prefix, job_id).events
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last = after
        while deadline is None or time.monotonic() < deadline:
            reply: list[tuple[Any, list[tuple[Any, dict[Any, Any]]]]] | None = self.client.xread(
                {key: last}, count=500, block=block_ms
            )  # type: ignore[assignment]  # the sync client's reply; stubs union in the async one
            for _stream, entries in reply or []:
                for entry_id, raw in entries:
                    last = _text(entry_id)
                    fields = {_text(k): _text(v) for k, v in raw.items()}
                    yield last, fields
                    if fields.get("type") in TERMINAL_TYPES:
                        return


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
