"""Sending the round a paused graph waits for: the one place that decides how and when rounds go out.

The graph's ``dispatch`` node only pauses with the round's plan (``interrupt``); this class turns the plan
into a query, answers the subagents that need no task right here (``SubagentRunner.settled``: an upstream
that is not configured answers at once), and hands the rest to the fan-out port. When: a fan-out that runs
the round in process before it returns (``synchronous``) must wait for the paused graph's checkpoint, which
its continuation reads; one that only sends messages goes out before that checkpoint is written, so the
write overlaps the subagents (a continuation that overtakes it is retried, see ``ChatService.resume``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from eco2.domain.request import parse_request
from eco2.domain.subagents import SubagentQuery
from eco2.errors import JobEndedError
from eco2.ports.dispatch import FanOutPort, JobRef
from eco2.ports.events import JobEventsPort
from eco2.subagents.runner import SubagentRunner


class RoundSender:
    """Sends rounds through ``fan_out``, answering settled subagents in this process."""

    def __init__(self, fan_out: FanOutPort, runner: SubagentRunner) -> None:
        self._fan_out = fan_out
        self._runner = runner

    def before_checkpoint(self, job: JobRef, events: JobEventsPort, state: Mapping[str, Any], pending: Any) -> None:
        """The graph just paused, its checkpoint not yet saved: send now if the fan-out only sends messages."""
        if not self._fan_out.synchronous:
            self._send(job, events, state, pending)

    def after_checkpoint(self, job: JobRef, events: JobEventsPort, state: Mapping[str, Any], pending: Any) -> None:
        """The paused graph's checkpoint is saved: send now if the fan-out continues the job in process."""
        if self._fan_out.synchronous:
            self._send(job, events, state, pending)

    def _send(self, job: JobRef, events: JobEventsPort, state: Mapping[str, Any], pending: Any) -> None:
        events.close()  # progress so far is visible before the round starts
        if events.ended:  # cancelled while it classified: send no round for it
            raise JobEndedError("the job ended before its round was sent")
        query = SubagentQuery.for_request(
            parse_request((), state["request"]),
            [entry["intent"] for entry in state["intents"]],
            pending.get("hints"),
        )
        if state.get("query_message"):  # a reply to a question back: the subagents read both
            query = dataclasses.replace(query, message=str(state["query_message"]))
        names = list(pending["subagents"])
        ready: list[dict[str, Any]] = []
        if not self._fan_out.synchronous:  # in process, every subagent runs here anyway
            settled = [name for name in names if self._runner.settled(name)]
            ready = [self._runner.run(name, query, job.traceparent, job=job).to_dict() for name in settled]
            names = [name for name in names if name not in settled]
        self._fan_out.fan_out(job, int(pending["round"]), names, query, ready)
