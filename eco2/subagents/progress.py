"""How a subagent's run appears in its job's stream: ``stage`` events (plus ``needs_input``).

One mapping from result status to stage status, used by whoever writes them: the subagent task itself,
or, for a run shorter than the stream's coalescing window, the continuation. A short run's ``started``
is still in its writer's buffer when it ends; the task then withdraws it and sets
``SubagentResult.reported = False``, and the continuation writes the stage with its own first write.
That saves each fast subagent a Redis round trip on the chat's critical path (in the bench: p50 latency
ratio 1.30 -> 1.22, docs/benchmarks.md); a stage that took longer than the window is reported live, as
before. The costs: such a short stage appears when its round ends, not when it ended; it is never written
if its round breaks (a sibling killed at its hard limit, ``round_failed``: ``done`` lists the round as
failed) or if the continuation's first write fails (its retry resumes past the round); and while a deploy
rolls, a continuation running the previous version ignores ``reported`` (roll the pool that consumes
``eco2.chat`` first). These are progress events: the answer and ``done`` are not affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eco2.domain.events import StageStatus
from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.ports.events import JobEventsPort

STAGE_STATUS = {
    ResultStatus.OK: StageStatus.COMPLETED,
    ResultStatus.WEAK: StageStatus.COMPLETED,
    ResultStatus.EMPTY: StageStatus.COMPLETED,
    ResultStatus.NEEDS_INPUT: StageStatus.COMPLETED,
    ResultStatus.NOT_CONFIGURED: StageStatus.SKIPPED,
    ResultStatus.TIMEOUT: StageStatus.FAILED,
    ResultStatus.FAILED: StageStatus.FAILED,
}
"""The stage status each result status ends its stage with."""


def _direct(call: Callable[..., object], *args: Any) -> None:
    call(*args)


def report_end(writer: JobEventsPort, result: SubagentResult, guard: Callable[..., None] = _direct) -> None:
    """The end of a subagent's stage: ``needs_input`` if it asks the user, then its final stage status.

    ``guard`` runs each write (the subagent task passes one that logs a failed write and goes on, so a
    failed ``needs_input`` does not also cost the stage's end).
    """
    if result.status is ResultStatus.NEEDS_INPUT:
        guard(writer.needs_input, {"subagent": result.name, **result.data})
    guard(writer.stage, result.name, STAGE_STATUS[result.status])


def report_withdrawn(writer: JobEventsPort, results: Iterable[Mapping[str, Any]]) -> None:
    """The whole stage of every result whose task left it to the continuation (``reported`` false)."""
    for raw in results:
        if raw.get("reported") is False:
            result = SubagentResult.from_dict(dict(raw))
            writer.stage(result.name, StageStatus.STARTED)
            report_end(writer, result)
