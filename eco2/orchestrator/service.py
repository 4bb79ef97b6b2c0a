"""The chat service: drives the graph across tasks and guarantees every job one terminal event.

Entry points map one-to-one to Celery tasks (``accept`` <- ``eco2.chat.process``, ``resume`` <- the chord
callback, ``round_failed`` <- the chord's error callback), but nothing here imports Celery: the scheduling
ports (``eco2/ports/dispatch.py``) hide how work is scheduled, and every collaborator comes from the
composition root (``eco2/bootstrap.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from eco2.domain.events import Claim, JobSnapshot
from eco2.domain.request import ChatRequest, parse_request, valid_job_id
from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.errors import ContinuationEarlyError, ContractError, JobEndedError, StreamError
from eco2.orchestrator.ending import JobEnding
from eco2.orchestrator.graph import ChatGraph
from eco2.orchestrator.memory import remember
from eco2.orchestrator.nodes import RunContext
from eco2.orchestrator.outcome import outcome_of, primary_intent, retrieval_feedback
from eco2.orchestrator.rounds import RoundSender
from eco2.orchestrator.state import ChatState, turn_input
from eco2.ports.checkpoints import RetentionPort
from eco2.ports.dispatch import DeadlinePort, JobRef
from eco2.ports.events import EventStreamPort, JobEventsPort
from eco2.ports.metrics import MetricsPort
from eco2.ports.sessions import Admission, SessionQueuePort
from eco2.ports.telemetry import TelemetryConfigPort
from eco2.subagents.progress import report_withdrawn

log = logging.getLogger(__name__)

INTERRUPT = "__interrupt__"
"""Key of the interrupts in a graph's output and stream updates (LangGraph's documented spelling)."""

STEP_RUN_NAME = "orchestrator"
"""Run name of each graph invocation (one per task: the start, then every continuation)."""

SEQ_HOLD_S = 1.0
"""How long a job waits for a lower ``session_seq`` of its session that has not arrived (docs/contract.md)."""
SEQ_POLL_S = 0.01
"""How often a held job asks again: its predecessor is usually milliseconds away."""


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    """Time bounds of a job."""

    job_timeout_s: float = 120.0
    history_turns: int = 6
    summary_max_chars: int = 1200


class ChatService:
    """Starts, continues and ends chat jobs."""

    def __init__(
        self,
        graph: ChatGraph,
        events: EventStreamPort,
        sessions: SessionQueuePort,
        *,
        rounds: RoundSender,
        deadlines: DeadlinePort,
        ending: JobEnding,
        metrics: MetricsPort,
        telemetry: TelemetryConfigPort,
        retention: RetentionPort | None = None,
        limits: ServiceLimits | None = None,
        timeout_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._graph = graph
        self._rounds = rounds
        self._deadlines = deadlines
        self._retention = retention
        self._events = events
        self._sessions = sessions
        self._limits = limits or ServiceLimits()
        self._timeout_errors = timeout_errors
        self._metrics = metrics
        self._telemetry = telemetry
        self.ending = ending

    # -- entry points ----------------------------------------------------------------------------
    def accept(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        traceparent: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Validate a new job and start it (or queue it behind its session). Returns the outcome.

        ``message_id`` (the Celery task id) claims the ``job_id`` for this message, atomically: the same
        message again (redelivered after a crash, retried) goes on; another message with the same ``job_id``
        is refused while that job runs, as after it ended.
        """
        try:
            request = parse_request(tuple(args), kwargs)
        except ContractError as exc:
            return self._reject(kwargs, exc)
        claim = self._events.claim(request.job_id, message_id or uuid.uuid4().hex)
        if claim in (Claim.FINISHED, Claim.CANCELLED) and request.session_id is not None:
            # A message of a job that ended (redelivered, say) may have been recorded as arriving in its
            # session: drop it there, or the jobs behind it would wait for it.
            promoted = self._sessions.forget(request.session_id, request.job_id, self.ending.lease_s)
            if promoted is not None:
                self.ending.promote(promoted)
        if claim is Claim.CANCELLED:
            log.info("job %s was cancelled before it started", request.job_id)
            return "cancelled"
        if claim is not Claim.CLAIMED:
            reason = "already finished" if claim is Claim.FINISHED else "belongs to a job that is still running"
            return self._reject(kwargs, ContractError("duplicate_job_id", f"this job_id {reason}"))
        job = JobRef(
            request.job_id,
            request.session_id or f"job:{request.job_id}",
            traceparent or self._telemetry.traceparent(),
            request.session_id,
            accepted_at=time.time(),
            user_id=request.user_id,
        )
        if request.session_id is not None:
            admission = self._admit(request, request.session_id)
            if admission.promoted is not None:
                self.ending.promote(admission.promoted)
            if not admission.run_now:
                if request.multitask_strategy != "enqueue":
                    return self._double_texted(request, request.session_id, admission.ahead)
                self._events.mark_queued(request.job_id)
                return "queued"
        self._start(job, request)
        return "started"

    def _admit(self, request: ChatRequest, session_id: str) -> Admission:
        """Ask the session queue; while it holds the job for a lower ``session_seq`` that another worker
        took an instant earlier, ask again, for at most ``SEQ_HOLD_S`` (then the job goes on: a gap in the
        producer's numbering must not stall a session)."""
        kwargs = request.to_kwargs()
        until = time.monotonic() + SEQ_HOLD_S
        while True:
            hold = time.monotonic() < until
            admission = self._sessions.admit(
                session_id, request.job_id, kwargs, self.ending.lease_s, seq=request.session_seq, hold=hold
            )
            if not admission.held:
                return admission
            time.sleep(SEQ_POLL_S)

    def cancel(self, job_id: Any) -> str:
        """End a job with an ``error`` of code ``cancelled`` (docs/contract.md, "Cancelling a job").

        Only the terminal event is written here: the job's running step finds it on its next write and
        stops (closing the model's stream), a continuation finds the job ended before any model call, and a
        message not yet taken finds it cancelled; each releases the session as it stops.
        """
        valid = valid_job_id(job_id)
        if valid is None:
            self._events.reject("invalid_job_id", "eco2.chat.cancel needs a valid job_id", None)
            return "rejected"
        outcome = self._events.cancel(valid)
        log.info("cancel of job %s: %s", valid, outcome)
        if outcome == "cancelled":
            self._metrics.track_error("unknown", "cancelled")
        return outcome

    def resume(self, job: JobRef, round_no: int, results: Sequence[Mapping[str, Any]]) -> str:
        """Continue the graph with one round's results (chord callback).

        Raises ``ContinuationEarlyError`` when the checkpoint awaiting this round is not saved yet (the
        round was sent just before it, see ``_run``) and the job is still running: the task retries.
        """
        if self.ending.finished(job.job_id):
            # Checked first: a continuation of a job that ended (cancelled while its subagents ran, or
            # redelivered after its deadline) finds the checkpoint still waiting for this round, and must not
            # call the model for a job nobody reads.
            log.info("continuation for round %s of job %s came after the job ended; ignored", round_no, job.job_id)
            self._ended_elsewhere(job, None)
            return "stale"
        events = self._open_events(job)
        state = self._graph.get_state(self._config(job))
        values: ChatState = state.values  # type: ignore[assignment]
        pending = [i.value for i in state.interrupts] if values.get("job_id") == job.job_id else []
        if pending and pending[0].get("round") == round_no:
            report_withdrawn(events, results)  # buffered: they go out with this step's first write
            return self._run(job, events, Command(resume=[dict(r) for r in results]), primary_intent(values))
        if values.get("job_id") != job.job_id or (pending and int(pending[0].get("round", 0)) < round_no):
            raise ContinuationEarlyError(f"round {round_no} of job {job.job_id} is not saved yet")
        if not state.next:
            # The graph finished but the process died before the terminal event: write it now.
            return self._complete(job, events, values, recovering=True)
        if not pending:
            # A step failed on a stream error and this task is its retry: LangGraph saved the state
            # before that step (e.g. ``answer`` whose ``done`` could not be written), so run it again.
            return self._run(job, events, None, primary_intent(values))
        log.info("continuation for round %s of job %s does not match the graph; ignored", round_no, job.job_id)
        return "stale"

    def round_failed(
        self,
        job: JobRef,
        round_no: int,
        subagents: Sequence[str],
        reason: str,
        ready: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        """A round's chord broke (e.g. a task was killed at its hard limit): go on without its results.

        Celery may run this error callback inline, where it cannot be retried; a round that broke before
        its checkpoint was even saved is left to the job's deadline.
        """
        failed = [SubagentResult(name, ResultStatus.FAILED, error=reason[:200]).to_dict() for name in subagents]
        try:
            return self.resume(job, round_no, [*failed, *ready])
        except ContinuationEarlyError:
            log.warning("round %s of job %s broke before its checkpoint was saved", round_no, job.job_id)
            return "stale"

    def expire(self, job: JobRef) -> str:
        """The job's deadline passed: end it with a timeout error unless it already ended.

        The ending asks its trace closer to close the job's trace, as the sweeper's does (see ``close_trace``).
        """
        return self.ending.expire(job)

    def close_trace(self, job: JobRef, outcome: str, error: str) -> str:
        """End the root run of a job that was ended elsewhere (the deadline sweeper has no tracing client)."""
        self._end_trace(job, outcome, error=error or None)
        return "closed" if job.root_run is not None else "untraced"

    # -- internals -------------------------------------------------------------------------------
    def _config(self, job: JobRef, intent: str | None = None) -> RunnableConfig:
        """The graph config of ``job``: its thread, plus run naming, tags and metadata when tracing is on."""
        config = self._telemetry.get_run_config(job.job_id, job.thread_id, job.user_id, intent)
        config.setdefault("configurable", {})["thread_id"] = job.thread_id  # the checkpointer needs it
        return cast(RunnableConfig, config)

    def _open_events(self, job: JobRef) -> JobEventsPort:
        # The current span when there is one (this task's), else the chat's; None when tracing is off.
        return self._events.open(job.job_id, self._telemetry.traceparent() or job.traceparent)

    def _start(self, job: JobRef, request: ChatRequest) -> None:
        if self._telemetry.is_enabled():
            root = self._telemetry.start_trace(self._config(job), request.to_kwargs())
            job = dataclasses.replace(job, root_run=root)
        events = self._open_events(job)
        # Before the first step, counted from acceptance: a step that hangs (the intent call, say) must not
        # keep the deadline from existing. Every way the job ends cancels it.
        self._deadlines.schedule_deadline(job, max(self._limits.job_timeout_s - job.elapsed_s(), 0.0))
        self._run(job, events, turn_input(job.job_id, request.to_kwargs(), job.accepted_at))

    def _run(self, job: JobRef, events: JobEventsPort, graph_input: Any, intent: str | None = None) -> str:
        config = self._config(job, intent)
        if self._telemetry.is_enabled():
            config["run_name"] = STEP_RUN_NAME  # the root run, not each step, is ``chat:{job_id}``
        try:
            state, pending = self._drive(job, events, graph_input, config)
        except StreamError:
            raise  # transient: the task layer retries, the stream stays consistent
        except JobEndedError:
            # Cancelled (or timed out) while it ran: whoever ended it wrote the terminal event.
            return self._ended_elsewhere(job, intent)
        except self._timeout_errors:
            self._retire(job)
            if self.ending.fail(job, events, "timeout", "a pipeline step ran over its time limit"):
                self._end_trace(job, "timeout", intent, "a pipeline step ran over its time limit")
            return "timeout"
        except Exception as exc:
            log.exception("job %s failed", job.job_id)
            self._retire(job)
            if self.ending.fail(job, events, "internal_error", "the chat pipeline failed; please try again"):
                self._end_trace(job, "failed", intent, f"internal_error: {type(exc).__name__}")
            return "failed"
        if pending is None:
            return self._complete(job, events, state)
        try:
            self._rounds.after_checkpoint(job, events, state, pending)
        except JobEndedError:
            return self._ended_elsewhere(job, intent)
        return "dispatched"

    def _drive(
        self, job: JobRef, events: JobEventsPort, graph_input: Any, config: RunnableConfig
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Run the graph until it ends or pauses: its last state and the round it paused for, if any."""
        state: dict[str, Any] = {}
        pending: dict[str, Any] | None = None
        with self._telemetry.within(job.root_run):
            for part in self._graph.stream(
                graph_input,
                config,
                context=RunContext(events=events),
                durability="exit",
                stream_mode=["updates", "values"],
            ):
                mode, chunk = cast(tuple[str, dict[str, Any]], part)
                if mode == "values":
                    state = chunk
                elif INTERRUPT in chunk:
                    pending = chunk[INTERRUPT][0].value
                    self._rounds.before_checkpoint(job, events, state, pending)
        return state, pending

    def _complete(self, job: JobRef, events: JobEventsPort, state: Mapping[str, Any], recovering: bool = False) -> str:
        """Account for a finished graph; write ``done`` only if its answer node did not (``recovering``)."""
        self._retire(job)  # before the session can move on to its next job
        outcome = outcome_of(state)
        closed = state.get("closed_failure")
        if closed:
            if self.ending.fail(job, events, "subagent_failed", f"a required step failed: {closed}", outcome.intent):
                self._end_trace(job, "failed", outcome.intent, f"subagent_failed: {closed}")
            return "failed"
        if recovering:
            wrote = events.done(outcome.data)
            if wrote:
                outcome.count(self._metrics, job.elapsed_s())
        else:
            wrote = state.get("ended") == "done"  # the answer node wrote it (and counted the request)
        if not wrote:
            # Ended already (e.g. timed out while answering): whoever wrote its terminal event closes the
            # trace, so a late answer cannot turn a recorded timeout into a success.
            self.ending.end(job, False)
            return "done"
        self.ending.end(job, True)
        self._end_trace(job, outcome.status, outcome.intent)
        if self._telemetry.is_enabled():  # here, where the answered job's trace closes: once per answer
            try:
                self._telemetry.record_feedback(job.root_run, retrieval_feedback(state))
            except Exception:  # scores are a courtesy to the dashboards: the answered job stays answered
                log.warning("could not score the retrieval of job %s", job.job_id, exc_info=True)
        return "done"

    def _double_texted(self, request: ChatRequest, session_id: str, ahead: Sequence[str]) -> str:
        """A message that arrived while its session was busy and asked not to wait (``multitask_strategy``).

        ``reject``: it ends at once with ``session_busy``. ``interrupt``/``rollback``: the jobs ahead of it
        are cancelled (each stops as a cancel stops it and hands the session on), so it runs next.
        """
        if request.multitask_strategy == "reject":
            promoted = self._sessions.forget(session_id, request.job_id, self.ending.lease_s)
            if promoted is not None:  # it had been handed the session meanwhile: pass it on
                self.ending.promote(promoted)
            self._metrics.track_error("unknown", "session_busy")
            self._events.open(request.job_id).error("session_busy", "another message of this session is running")
            return "rejected"
        for job_id in ahead:
            self._events.cancel(job_id, request.multitask_strategy)
        self._events.mark_queued(request.job_id)
        log.info("job %s %ss %d job(s) of its session", request.job_id, request.multitask_strategy, len(ahead))
        return "queued"

    def _keep_interrupted_turn(self, job: JobRef, snapshot: JobSnapshot) -> None:
        """An interrupted (or cancelled) turn stays in the session's memory with what it had answered, so
        the next message can refer to it; a rolled-back turn leaves no trace (nothing to do: memory is
        written only when a turn completes)."""
        if snapshot.cancelled == "rollback" or job.session_id is None:
            return
        config = self._config(job)
        values: ChatState = self._graph.get_state(config).values  # type: ignore[assignment]
        if values.get("job_id") != job.job_id or values.get("ended") == "cancelled":
            return  # another job's turn by now, or this one's already kept (a redelivered continuation)
        turn = {
            "user": values["request"]["message"],
            "assistant": f"{snapshot.answer} (중단됨)".strip(),
            "intent": primary_intent(values),
        }
        turns, summary = remember(
            values.get("turns", []),
            values.get("summary", ""),
            turn,
            self._limits.history_turns,
            self._limits.summary_max_chars,
        )
        self._graph.update_state(config, {"turns": turns, "summary": summary, "ended": "cancelled"})

    def _ended_elsewhere(self, job: JobRef, intent: str | None) -> str:
        """The job was ended by someone else (a cancel, the deadline sweeper) while this step ran or
        waited: release its deadline and session (idempotent), trim its graph, close its trace."""
        log.info("job %s ended elsewhere (cancelled or timed out); its step stops", job.job_id)
        snapshot = self._events.snapshot(job.job_id)
        if snapshot is not None and snapshot.cancelled:  # a timeout's trace is closed by the sweeper
            # Before the session is handed on: the next message (an interrupting one) reads this memory.
            try:
                self._keep_interrupted_turn(job, snapshot)
            except Exception:  # memory is a courtesy here: the job has ended either way
                log.warning("could not remember the interrupted turn of job %s", job.job_id, exc_info=True)
            self._end_trace(job, "cancelled", intent, f"cancelled: {snapshot.cancelled}")
        self._retire(job)
        self.ending.end(job, wrote_terminal=False)
        return "ended"

    def _retire(self, job: JobRef) -> None:
        """The job's graph will not be resumed: trim its checkpoints (see ``CheckpointRetention``)."""
        if self._retention is not None:
            self._retention.ended(job.thread_id, job.session_id is not None)

    def _end_trace(self, job: JobRef, outcome: str, intent: str | None = None, error: str | None = None) -> None:
        if job.root_run is not None:
            outputs = {"outcome": outcome, "intent": intent}
            self._telemetry.end_trace(job.root_run, self._config(job, intent), outputs, error)

    def _reject(self, kwargs: Mapping[str, Any], exc: ContractError) -> str:
        job_id = valid_job_id(kwargs.get("job_id")) if isinstance(kwargs, Mapping) else None
        log.warning("rejected job %s: %s", job_id or "<no valid job_id>", exc.code)
        self._metrics.track_error("unknown", exc.code)
        if job_id is not None and exc.code != "duplicate_job_id":
            self._events.open(job_id).error(exc.code, exc.message)
        else:
            self._events.reject(exc.code, exc.message, job_id)
        return "rejected"
