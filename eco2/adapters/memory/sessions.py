"""In-memory session queue with the Redis adapter's rules (for ``--inline`` and tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eco2.ports.sessions import Admission


@dataclass
class _Session:
    active: tuple[str, float] | None = None
    """The holder and when its lease ends (monotonic)."""
    order: list[str] = field(default_factory=list)
    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: dict[str, float] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    last_seq: int = 0


class MemorySessionQueue:
    """Implements ``SessionQueuePort`` in one process (the same rules as ``sessions.lua``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def _session(self, session_id: str) -> _Session:
        session = self._sessions.setdefault(session_id, _Session())
        if session.active is not None and session.active[1] < time.monotonic():
            session.active = None
        return session

    @staticmethod
    def _register(session: _Session, job_id: str, seq: int | None) -> None:
        if job_id in session.order:
            return
        session.arrivals[job_id] = time.monotonic()
        if seq is not None:
            session.seqs[job_id] = seq
            for n, other in enumerate(session.order):
                if session.seqs.get(other, 0) > seq:
                    session.order.insert(n, job_id)
                    return
        session.order.append(job_id)

    @staticmethod
    def _leave(session: _Session, job_id: str) -> None:
        """Take the job out of the order and forget what was kept for it."""
        if job_id in session.order:
            session.order.remove(job_id)
        MemorySessionQueue._drop(session, job_id)

    @staticmethod
    def _drop(session: _Session, job_id: str) -> None:
        session.last_seq = max(session.last_seq, session.seqs.get(job_id, 0))  # as sessions.lua's passed()
        session.waiting.pop(job_id, None)
        session.arrivals.pop(job_id, None)
        session.seqs.pop(job_id, None)

    @staticmethod
    def _head(session: _Session, lease_s: float) -> tuple[str | None, dict[str, Any] | None]:
        while session.order:
            first = session.order[0]
            if first in session.waiting:
                return first, session.waiting[first]
            if time.monotonic() - session.arrivals.get(first, 0.0) < lease_s:
                return first, None
            session.order.pop(0)
            MemorySessionQueue._drop(session, first)
        return None, None

    @staticmethod
    def _activate(session: _Session, job_id: str, lease_s: float) -> None:
        MemorySessionQueue._leave(session, job_id)
        session.active = (job_id, time.monotonic() + lease_s)

    def arrived(self, session_id: str, job_id: str, seq: int | None = None) -> None:
        """Record the arrival order (by ``seq`` for jobs that carry one)."""
        with self._lock:
            session = self._session(session_id)
            if session.active is None or session.active[0] != job_id:
                self._register(session, job_id, seq)

    def admit(
        self,
        session_id: str,
        job_id: str,
        kwargs: Mapping[str, Any],
        lease_s: float,
        seq: int | None = None,
        hold: bool = True,
    ) -> Admission:
        """Run now, wait in arrival order, or be held for a lower ``seq`` about to arrive."""
        with self._lock:
            session = self._session(session_id)
            if session.active is not None and session.active[0] == job_id:
                session.active = (job_id, time.monotonic() + lease_s)
                return Admission(run_now=True)
            self._register(session, job_id, seq)
            if session.active is None:
                first, waiting = self._head(session, lease_s)
                if first == job_id:
                    if seq is not None and hold and seq > session.last_seq + 1:
                        return Admission(run_now=False, held=True)
                    self._activate(session, job_id, lease_s)
                    return Admission(run_now=True)
                session.waiting[job_id] = dict(kwargs)
                if first is not None and waiting is not None:
                    self._activate(session, first, lease_s)
                    return Admission(run_now=False, promoted=waiting, ahead=self._ahead(session, job_id, first))
                return Admission(run_now=False, ahead=self._ahead(session, job_id, None))
            session.waiting[job_id] = dict(kwargs)
            return Admission(run_now=False, ahead=self._ahead(session, job_id, session.active[0]))

    @staticmethod
    def _ahead(session: _Session, job_id: str, holder: str | None) -> tuple[str, ...]:
        earlier = session.order[: session.order.index(job_id)] if job_id in session.order else session.order
        return tuple([holder] if holder else []) + tuple(i for i in earlier if i != holder)

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """Give the session to the next waiting job."""
        with self._lock:
            session = self._session(session_id)
            if session.active is None or session.active[0] != job_id:
                return None
            session.active = None
            return self._promote(session, lease_s)

    def forget(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """Drop a job that will never run; the next waiting job if the session is idle."""
        with self._lock:
            session = self._session(session_id)
            self._leave(session, job_id)
            if session.active is not None and session.active[0] == job_id:
                session.active = None  # promoted, but it will never run: pass the session on
            return self._promote(session, lease_s) if session.active is None else None

    def _promote(self, session: _Session, lease_s: float) -> Mapping[str, Any] | None:
        first, waiting = self._head(session, lease_s)
        if first is None or waiting is None:
            return None
        self._activate(session, first, lease_s)
        return waiting
