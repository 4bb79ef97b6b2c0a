"""Writing and reading job event streams in Redis.

Events are buffered per job and written by one ``EVALSHA`` per flush, in call order; adjacent tokens merge
into one entry. A token is written one window (``token_flush_ms``) after the job's previous write, or at
once if that is older; terminal events flush at once. The process's flusher thread writes every job's due
buffer in one pipelined round trip. Each flush carries the writer's id and a batch number, so a retry after
a lost reply is recognised by the script and not applied twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import redis

from eco2.adapters.redis_streams.flusher import Flusher, shared_flusher
from eco2.domain.events import (
    CANCEL_MODES,
    TERMINAL_TYPES,
    Claim,
    EventType,
    JobSnapshot,
    JobStatus,
    StageStatus,
    StreamKeys,
    event_json,
)
from eco2.errors import StreamError
from eco2.ports.events import WriteObserver

_SCRIPT = resources.files("eco2.adapters.redis_streams").joinpath("emit.lua").read_text("utf-8")
_CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'done' or status == 'error' then
  if redis.call('HEXISTS', KEYS[1], 'cancelled') == 1 then return 3 end
  return 2
end
local holder = redis.call('HGET', KEYS[1], 'message')
if holder and holder ~= ARGV[1] and ARGV[2] ~= '1' then return 1 end
redis.call('HSET', KEYS[1], 'message', ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 0
"""
RESET_IF_ANSWER = "reset?"  # emit.lua: becomes a `reset` entry only when the job has answer text
_FINISHED = 2  # emit.lua's code for "the job already has its terminal event"
REJECTED_MAXLEN = 10_000


EmitCall = tuple[StreamKeys, str, str, int, list[str]]
"""One run of the emit script: the job's keys, traceparent, writer id, batch number and events."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RedisJobEvents:
    """Event writer of one job (implements ``JobEventsPort``).

    Its buffer is written by the process's flusher thread (batched with other jobs' buffers) or, for a
    terminal event or an explicit flush, by the caller; at most one write of a job is under way at a time,
    so batches reach Redis in order.
    """

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
        self._sending = False
        self._last_sent = -1e9
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._failure: BaseException | None = None
        self._finished = False
        self.observer = observer

    @property
    def group(self) -> RedisStreamsEvents:
        """The adapter that writes this buffer together with others (``Flushable``)."""
        return self._owner

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

    @property
    def ended(self) -> bool:
        """Whether a write of this writer found the job ended (by its own terminal event or another's)."""
        return self._finished

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

    # -- the flusher's side ------------------------------------------------------------------------
    def take_due(self) -> list[EmitCall] | None:
        """Called by the flusher: the batches to send now (this job is then busy until ``sent``).

        ``None`` when there is nothing to send or the caller is writing this job itself (it sends what
        is pending too). A job whose lock is held is retried a millisecond later rather than waited for:
        one busy job must not hold up the others' write.
        """
        if not self._lock.acquire(blocking=False):
            self._owner.flusher.schedule(self, time.monotonic() + 0.001)
            return None
        try:
            self._scheduled = False
            if self._sending or self._finished:
                return None
            self._stage_pending()
            if not self._unsent:
                return None
            self._sending = True
            self._last_sent = time.monotonic()
            return [(self._keys, self._traceparent, self._writer, batch, events) for batch, events, _ in self._unsent]
        finally:
            self._lock.release()

    def sent(self, outcome: Sequence[tuple[int, int] | BaseException] | BaseException, seconds: float) -> None:
        """Called by the flusher with the script's replies to the batches ``take_due`` returned."""
        with self._lock:
            try:
                if isinstance(outcome, BaseException):
                    self._failure = outcome
                    return
                for reply in outcome:
                    if isinstance(reply, BaseException):
                        self._failure = reply
                        return
                    self._applied(*reply, seconds)
            finally:
                self._sending = False
                self._idle.notify_all()

    # -- internals -------------------------------------------------------------------------------
    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise StreamError(f"event stream write failed: {failure}") from failure

    def _buffer(self, event: list[str]) -> None:
        """Queue a non-terminal event and schedule its write.

        A token is due one window after this job's previous write, which is at once when that write is
        older than the window: coalescing merges tokens that come faster than the window, and delays
        none that comes slower. Other events wait a whole window (a short subagent run can then withdraw
        its ``started``, see ``withdraw``).
        """
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
                now = time.monotonic()
                due = max(now, self._last_sent + window) if event[0] == EventType.TOKEN else now + window
                self._owner.flusher.schedule(self, due)

    def _write(self, event: list[str]) -> bool:
        with self._lock:
            # Wait before buffering: a terminal event must be sent by this call, which reports whether
            # it was written, not by a flusher write that takes the buffer meanwhile.
            self._wait_idle()
            self._raise_failure()
            if self._finished:
                return False
            self._pending.extend(event)
            return self._flush_locked()

    def _wait_idle(self) -> None:
        """Wait (lock held, released while waiting) until no flusher write of this job is under way."""
        while self._sending:
            self._idle.wait()

    def _stage_pending(self) -> None:
        """Turn the buffer into the next numbered batch (kept until Redis has applied it)."""
        if self._pending:
            self._batch += 1
            self._unsent.append((self._batch, self._pending, self._pending_tokens))
            self._pending, self._pending_tokens = [], 0

    def _applied(self, code: int, resets: int, seconds: float) -> None:
        """Account for the oldest unsent batch, which Redis has applied (or found already applied)."""
        _batch, events, tokens = self._unsent.pop(0)
        if self.observer is not None:
            if tokens:
                self.observer.on_flush(tokens, seconds)
            for _ in range(resets):
                self.observer.on_reset()
        if code == _FINISHED:
            self._finished = True
            self._unsent.clear()
        elif events[-4] in TERMINAL_TYPES:
            self._finished = True

    def _flush_locked(self) -> bool:
        """Send buffered events from this thread; True unless the job turned out to be finished already.

        Waits for a write of the flusher's that is under way first. A batch that failed stays queued under
        its batch number, so sending it again cannot apply it twice even if the failed attempt reached Redis.
        """
        self._wait_idle()
        self._raise_failure()
        self._stage_pending()
        written = not self._finished
        while self._unsent:
            batch, events, _tokens = self._unsent[0]
            self._last_sent = time.monotonic()
            started = time.perf_counter()
            code, resets = self._owner.emit(self._keys, self._traceparent, self._writer, batch, events)
            self._applied(code, resets, time.perf_counter() - started)
            if code == _FINISHED:
                written = False
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
        self._claim = client.register_script(_CLAIM)

    def flush_many(self, targets: Sequence[RedisJobEvents]) -> None:
        """Write the due batches of many jobs in one pipelined round trip (``FlushGroup``, flusher thread).

        A job's batches go out in order and a job has one write under way at a time, so the pipeline keeps
        every stream's order; a batch whose reply was lost is sent again later under the same number and
        the script does not apply it twice (which also makes re-running the pipeline after ``NOSCRIPT`` safe).
        """
        sends = [(job, batches) for job in targets if (batches := job.take_due())]
        if not sends:
            return
        calls = [call for _job, batch_calls in sends for call in batch_calls]
        started = time.perf_counter()
        try:
            replies = self.emit_many(calls)
        except BaseException as exc:
            # Each job raises it to its writer's next call (the task retries); nothing is lost meanwhile:
            # the batches stay queued under their numbers. Only an unexpected error is the flusher's too.
            for job, _batches in sends:
                job.sent(exc, 0.0)
            if isinstance(exc, StreamError):
                return
            raise
        seconds = time.perf_counter() - started
        at = 0
        for job, batches in sends:
            job.sent(replies[at : at + len(batches)], seconds)
            at += len(batches)

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

    def emit_many(self, calls: Sequence[EmitCall]) -> list[tuple[int, int] | BaseException]:
        """Run the emit script once per call, pipelined; a reply is ``(code, resets)`` or the error of that
        call (the others still count). Raises ``StreamError`` when Redis could not be reached at all."""
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for keys, traceparent, writer, batch, events in calls:
                args: list[str | int] = [_now_ms(), self.ttl_s, self.running_ttl_s, traceparent, writer, batch]
                args.extend(events)
                pipe.evalsha(self._script.sha, 4, keys.events, keys.snapshot, keys.seq, keys.answer, *args)
            try:
                raw = pipe.execute(raise_on_error=False)
            except redis.RedisError as exc:
                raise StreamError(f"writing {len(calls)} event batches failed: {type(exc).__name__}") from exc
            if attempt == 1 and any(isinstance(r, redis.exceptions.NoScriptError) for r in raw):
                try:
                    self.client.script_load(_SCRIPT)  # a restarted server lost it; replays are recognised
                except redis.RedisError as exc:
                    raise StreamError(f"loading the emit script failed: {type(exc).__name__}") from exc
                continue
            return [_reply(r) for r in raw]
        raise AssertionError("unreachable")

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
            cancelled=fields.get("cancelled", ""),
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

    def claim(self, job_id: str, message_id: str, take_over: bool = False) -> Claim:
        """Tie the job to ``message_id`` in its snapshot (field ``message``), in one script call."""
        keys = StreamKeys.for_job(self.prefix, job_id)
        try:
            code = self._claim(keys=[keys.snapshot], args=[message_id, int(take_over), self.running_ttl_s])
        except redis.RedisError as exc:
            raise StreamError(f"claiming job {job_id} failed: {type(exc).__name__}") from exc
        return (Claim.CLAIMED, Claim.IN_USE, Claim.FINISHED, Claim.CANCELLED)[int(code)]

    def cancel(self, job_id: str, mode: str = "cancel") -> str:
        """Mark the job cancelled, then write its ``cancelled`` error (the emit script refuses it if the job
        has ended meanwhile)."""
        if self.status(job_id) in (JobStatus.DONE, JobStatus.ERROR):
            return "finished"
        keys = StreamKeys.for_job(self.prefix, job_id)
        try:
            # First: a message of the job that claims it after the error finds it cancelled, not reused. A job
            # no worker has seen yet gets a snapshot here: it expires like a running job's.
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(keys.snapshot, "cancelled", mode)
                pipe.expire(keys.snapshot, self.running_ttl_s, nx=True)
                pipe.execute()
        except redis.RedisError as exc:
            raise StreamError(f"cancelling job {job_id} failed: {type(exc).__name__}") from exc
        writer = self.open(job_id)
        try:
            return "cancelled" if writer.error("cancelled", CANCEL_MODES[mode]) else "finished"
        finally:
            writer.close()

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


def _reply(raw: Any) -> tuple[int, int] | BaseException:
    if isinstance(raw, BaseException):
        return StreamError(f"event batch refused: {type(raw).__name__}")
    return int(raw[1]), int(raw[2]) if len(raw) > 2 else 0


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
