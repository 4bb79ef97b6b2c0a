"""Feedback on a chat's root run, sent from one background thread so that no chat waits for LangSmith.

``Client.create_feedback`` either queues the feedback on the client's own upload thread (a server that
takes feedback in multipart ingestion, given ``trace_id``) or POSTs ``/feedback`` itself, with retries,
on the caller's thread. The sender makes both asynchronous: the service hands it a batch and returns. The
queue is bounded, and after LangSmith was found unreachable the batches of the next ``PAUSE_S`` are dropped
without a try (each try costs the thread seconds of the client's retries): a LangSmith that is down costs
dropped scores, never memory or a chat's time. Failures are logged once per outage, not once per score.

Each score carries the release that produced it (``feedback_source.metadata``) and the project's id,
which LangSmith wants with run-level feedback; the id is looked up by name once per process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from langsmith import Client
from langsmith import utils as ls_utils

from eco2.ports.telemetry import TraceFeedback

log = logging.getLogger(__name__)

THREAD_NAME = "eco2-trace-feedback"
MAX_PENDING = 256
"""Batches (one per answered chat) waiting to be sent; more are dropped."""
ATTEMPTS = 2
"""Tries of a direct ``POST /feedback`` (the second when the run was not ingested yet, or a connection failed)."""
PAUSE_S = 30.0
"""After LangSmith was unreachable, batches are dropped untried for this long."""
UNREACHABLE = (
    ls_utils.LangSmithConnectionError,
    ls_utils.LangSmithRequestTimeout,
    ls_utils.LangSmithAPIError,
    ls_utils.LangSmithRateLimitError,
    OSError,  # what requests raises when it gives up (a read timeout, a refused connection)
)
"""Failures that say LangSmith cannot take anything now (as opposed to refusing this one score)."""
PROJECT_LOOKUP_WAITS_S = (0.25, 0.5, 1.0, 2.0)
"""Waits between lookups of a project not created yet (its first run may still be on its way)."""
PROJECT_LOOKUP_RETRY_S = 60.0
"""After a failed lookup of the project's id, scores go without it for this long."""


@dataclass(frozen=True, slots=True)
class FeedbackBatch:
    """The scores of one chat, addressed to its root run."""

    run_id: uuid.UUID
    start_time: datetime
    feedback: tuple[TraceFeedback, ...]


class _QuietOwnFailures(logging.Filter):
    """Drops the client's traceback for a feedback that failed on the sender's thread: the sender reports
    failures itself, once per outage (a dead LangSmith would otherwise log a traceback per score)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (threading.current_thread().name == THREAD_NAME and record.msg == "Error creating feedback")


_QUIET = _QuietOwnFailures()


class FeedbackSender:
    """Sends :class:`FeedbackBatch` es to LangSmith from a daemon thread; ``flush`` waits for them."""

    def __init__(self, client: Client, project: str, source: dict[str, str], max_pending: int = MAX_PENDING) -> None:
        """``source`` (the release and environment) goes with every score as its source's metadata."""
        self._client = client
        self._project = project
        self._source = dict(source)
        self._max_pending = max_pending
        self._pending: deque[FeedbackBatch] = deque()
        self._sending = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._paused_until = 0.0
        self._project_id: uuid.UUID | None = None
        self._lookup_after = 0.0
        logging.getLogger("langsmith.client").addFilter(_QUIET)  # a set: added once however many senders

    def submit(self, batch: FeedbackBatch) -> None:
        """Queue ``batch`` and return at once (dropped, with one warning, when the queue is full)."""
        with self._cond:
            if len(self._pending) >= self._max_pending:
                self._failed("the feedback queue is full; scores are dropped")
                return
            self._pending.append(batch)
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork left it behind
                self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued batch was sent (or failed); ``False`` when ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._sending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = self._pending.popleft()
                self._sending += 1
            try:
                self._send(batch)
            finally:
                with self._cond:
                    self._sending -= 1
                    self._cond.notify_all()

    def _send(self, batch: FeedbackBatch) -> None:
        if time.monotonic() < self._paused_until:
            log.debug("LangSmith was unreachable moments ago; feedback on run %s dropped", batch.run_id)
            return
        project_id = self._project_id_or_none()
        try:
            for item in batch.feedback:
                self._client.create_feedback(
                    run_id=batch.run_id,
                    trace_id=batch.run_id,  # the root is its own trace; lets the client batch it with runs
                    key=item.key,
                    score=item.score,
                    value=item.value,
                    source_info=dict(self._source),
                    session_id=project_id,
                    start_time=batch.start_time,
                    # Deterministic: the same score sent twice (a retried send) stays one feedback.
                    feedback_id=uuid.uuid5(batch.run_id, item.key),
                    stop_after_attempt=ATTEMPTS,
                )
        except Exception as exc:
            if isinstance(exc, UNREACHABLE):
                self._paused_until = time.monotonic() + PAUSE_S
            self._failed(f"could not send trace feedback to LangSmith ({type(exc).__name__})")
            return
        if self._failing:
            self._failing = False
            log.info("trace feedback reaches LangSmith again")

    def _project_id_or_none(self) -> uuid.UUID | None:
        """The project's id, looked up once per process.

        LangSmith creates a project when its first run arrives, and the root run was posted by another
        process's upload thread, so a project not found yet is asked for again a few times (this thread
        can wait); after any other failure scores go without the id for a while.
        """
        if self._project_id is not None or time.monotonic() < self._lookup_after:
            return self._project_id
        for wait_s in (*PROJECT_LOOKUP_WAITS_S, None):
            try:
                self._project_id = self._client.read_project(project_name=self._project).id
            except ls_utils.LangSmithNotFoundError:
                if wait_s is not None:
                    time.sleep(wait_s)
                    continue
            except Exception:
                log.debug("could not look up LangSmith project %s", self._project, exc_info=True)
            break
        if self._project_id is None:
            self._lookup_after = time.monotonic() + PROJECT_LOOKUP_RETRY_S
        return self._project_id

    def _failed(self, message: str) -> None:
        if not self._failing:
            self._failing = True
            log.warning("%s; further failures are not logged until one succeeds", message)
