"""Runs one subagent uniformly: stage events, timing, error translation, the retry decision.

Every subagent task goes through :meth:`SubagentRunner.run`, so no subagent repeats this boilerplate and
every outcome maps to exactly one :class:`ResultStatus` and one ``stage`` event. A failure that says what
the user should hear (``UpstreamError.summary``) keeps it as the failed result's ``summary``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from eco2.domain.events import StageStatus
from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import NotConfiguredError, PermanentError, RetryableError, StreamError
from eco2.ports.dispatch import JobRef
from eco2.ports.events import EventStreamPort
from eco2.ports.metrics import MetricsPort
from eco2.ports.subagents import SubagentPort
from eco2.ports.telemetry import TelemetryConfigPort
from eco2.subagents.progress import STAGE_STATUS, report_end
from eco2.subagents.unavailable import NotConfigured

log = logging.getLogger(__name__)


class SubagentRunner:
    """Runs registered subagents against their implementations."""

    def __init__(
        self,
        implementations: Mapping[str, SubagentPort],
        events: EventStreamPort,
        *,
        metrics: MetricsPort,
        telemetry: TelemetryConfigPort,
        timeout_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._impls = dict(implementations)
        self._events = events
        self._timeout_errors = timeout_errors
        self._metrics = metrics
        self._telemetry = telemetry

    def settled(self, name: str) -> bool:
        """Whether ``name`` answers here without doing anything (its upstream is not configured).

        Such a subagent needs no task: its ``not_configured`` result can be had in the orchestrating process.
        """
        return isinstance(self._impls.get(name), NotConfigured)

    def run(
        self,
        name: str,
        query: SubagentQuery,
        traceparent: str | None = None,
        attempt: int = 1,
        final_attempt: bool = True,
        sent_at: float | None = None,
        job: JobRef | None = None,
    ) -> SubagentResult:
        """Run ``name`` once; re-raise ``RetryableError`` only when another attempt will follow.

        ``sent_at`` (epoch seconds) is when the round was dispatched: the queue wait is measured from it.
        ``job`` places the run in the chat's trace (a ``subagent:{name}`` child of its root run).
        """
        spec = spec_for(name)
        if sent_at is not None and attempt == 1:
            self._metrics.track_queue_wait(spec.name, time.time() - sent_at)
        writer = self._events.open(query.job_id, self._telemetry.traceparent() or traceparent)
        if attempt == 1:
            _quiet(writer.stage, spec.name, StageStatus.STARTED)
        if self._telemetry.is_enabled():
            result = self._traced(spec.name, query, attempt, final_attempt, job)
        else:
            result = self._attempt(spec.name, query, attempt, final_attempt)
        if attempt == 1 and writer.withdraw():
            # Over before its ``started`` left the buffer: the continuation writes the whole stage with
            # its own first write, one round trip fewer on the chat's path (eco2/subagents/progress.py).
            result = dataclasses.replace(result, reported=False)
        else:
            report_end(writer, result, _quiet)
            _quiet(writer.close)  # its started went out already (or this is a retry): the end follows
        self._metrics.track_subagent_call(spec.name, result.status.value, result.duration_s)
        return result

    def _traced(
        self, name: str, query: SubagentQuery, attempt: int, final_attempt: bool, job: JobRef | None
    ) -> SubagentResult:
        """The attempt as a ``subagent:{name}`` run of the chat's trace; a failed result marks it failed."""
        config = self._telemetry.get_run_config(
            query.job_id,
            job.thread_id if job else None,
            job.user_id if job else None,
            query.intents[0] if query.intents else None,
            tags=[f"subagent:{name}"],
        )
        root = job.root_run if job else None
        with self._telemetry.child_run(root, f"subagent:{name}", config, query.to_dict()) as run:
            result = self._attempt(name, query, attempt, final_attempt)
            failed = STAGE_STATUS[result.status] is StageStatus.FAILED
            run.end(result.to_dict(), (result.error or result.status.value) if failed else None)
        return result

    def _attempt(self, name: str, query: SubagentQuery, attempt: int, final_attempt: bool) -> SubagentResult:
        spec = spec_for(name)
        started = time.perf_counter()
        try:
            result = self._impls[spec.name].run(query)
        except NotConfiguredError as exc:
            result = SubagentResult(spec.name, ResultStatus.NOT_CONFIGURED, error=str(exc))
        except RetryableError as exc:
            if not final_attempt:
                raise
            result = SubagentResult(
                spec.name, ResultStatus.FAILED, summary=exc.summary, error=f"retries exhausted: {exc}"
            )
        except PermanentError as exc:
            result = SubagentResult(spec.name, ResultStatus.FAILED, summary=exc.summary, error=str(exc))
        except self._timeout_errors:
            result = SubagentResult(spec.name, ResultStatus.TIMEOUT, error=f"over {spec.timeout_s:g}s")
        except Exception as exc:
            log.exception("subagent %s crashed", spec.name)
            result = SubagentResult(spec.name, ResultStatus.FAILED, error=type(exc).__name__)
        return dataclasses.replace(result, duration_s=time.perf_counter() - started, attempts=attempt)


def _quiet(call: Callable[..., object], *args: Any) -> None:
    """Progress events are best effort here: the result still reaches the orchestrator via Celery."""
    try:
        call(*args)
    except StreamError:
        log.warning("could not write a progress event", exc_info=True)
