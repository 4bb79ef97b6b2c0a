"""Shows a job's events live in a terminal: stage progress on stderr, answer text on stdout.

Everything is shown when its entry arrives and as it came: nothing is held back, split or slowed down to
look streamed. A stage is a line ``· intent …`` when it starts; on a terminal its end is added to that
line (``· intent … ✓ waste``), elsewhere it is a line of its own (``· intent ✓ waste``). An answer whose
text was all written within ``AT_ONCE_MS`` (the offline composer's is: it is ready at once, so the writer
sends it as one entry) shows up in one piece; a note after it says so, so that the reader does not take it
for a stream that failed to stream.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from eco2.domain.events import TERMINAL_TYPES, EventType, StageStatus

_ENDS: dict[str, str] = {StageStatus.COMPLETED: "✓", StageStatus.FAILED: "✗ failed", StageStatus.SKIPPED: "– skipped"}
"""How a stage's end is shown; a status this reader does not know is shown as it is."""
AT_ONCE_MS = 20
"""Answer text written within this many milliseconds came at once: the Redis writer's default flush window
(``ECO2_TOKEN_FLUSH_MS``), within which it merges tokens into one entry anyway."""
ONE_PIECE_NOTE = "(answer ready at once: it arrived in one piece)"


@dataclass
class JobOutcome:
    """What a finished job produced."""

    job_id: str
    status: str = "running"
    intent: str = ""
    answer: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    ready_at_once: bool = False
    """The answer (since the last ``reset``) was all written within ``AT_ONCE_MS``, so came in one piece."""


class LiveRenderer:
    """Applies events in order (including ``reset``) and prints them as they arrive.

    ``tty`` says whether stderr is a terminal (default: ask it); ``quiet`` prints nothing (``--json``).
    """

    def __init__(
        self,
        job_id: str,
        out: TextIO | None = None,
        err: TextIO | None = None,
        quiet: bool = False,
        tty: bool | None = None,
    ):
        self.outcome = JobOutcome(job_id)
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._quiet = quiet
        self._tty = _isatty(self._err) if tty is None else tty
        self._streamed = ""
        self._mid_line = False
        self._open_stage: str | None = None
        """A started stage whose line is still open on the terminal, to be ended in place."""
        self._written_ms: tuple[int, int] | None = None
        """When the first and the last token entry of the answer (since the last reset) were written."""

    def apply(self, fields: dict[str, str]) -> None:
        """Handle one stream entry."""
        self.outcome.events += 1
        kind = fields.get("type")
        if kind == EventType.STAGE:
            self._stage(fields)
        elif kind == EventType.TOKEN:
            delta = fields.get("delta", "")
            self._streamed += delta
            if delta:
                written = _written_ms(fields)
                first = self._written_ms[0] if self._written_ms else written
                self._written_ms = (first, written)
            if not self._quiet and delta:
                self._end_stage_line()
                self._out.write(delta)
                self._out.flush()
                self._mid_line = not delta.endswith("\n")
        elif kind == EventType.RESET:
            self._streamed = ""
            self._written_ms = None
            self._note("\n[answer restarted]")
        elif kind == EventType.NEEDS_INPUT:
            self._note(f"[needs input] {fields.get('data', '')}")
        elif kind in TERMINAL_TYPES:
            data = json.loads(fields.get("data", "{}"))
            self.outcome.status = kind
            self.outcome.data = data
            if kind == EventType.DONE:
                self.outcome.answer = data.get("answer", self._streamed)
                self.outcome.intent = data.get("intent", self.outcome.intent)
                spans = self._written_ms
                self.outcome.ready_at_once = spans is not None and spans[1] - spans[0] <= AT_ONCE_MS
                if self.outcome.ready_at_once:
                    self._note(ONE_PIECE_NOTE)
            else:
                self._note(f"[error] {data.get('code')}: {data.get('message')}")
            self._end_lines()

    def reject(self, record: dict[str, str]) -> None:
        """The worker refused the message (its record in ``{prefix}:chat:rejected``): an error outcome."""
        if record.get("code") == "no_answer":
            return  # nothing came: the caller reports the missing answer
        data = {"code": record.get("code", ""), "message": record.get("message", "")}
        self.outcome.status = "error"
        self.outcome.data = data
        self._note(f"[rejected] {data['code']}: {data['message']}")

    def _stage(self, fields: dict[str, str]) -> None:
        stage, status, intent = fields.get("stage", "?"), fields.get("status", ""), fields.get("intent", "")
        if intent:
            self.outcome.intent = intent
        if self._quiet:
            return
        if status == StageStatus.STARTED:
            self._note(f"· {stage} …", keep_open=stage)
            return
        end = _ENDS.get(status, status or "?")
        if intent:
            end += f" {intent}"
        if self._open_stage == stage:  # its started line is the last thing on the terminal: end it there
            self._open_stage = None
            self._err.write(f" {end}\n")
            self._err.flush()
        else:
            self._note(f"· {stage} {end}")

    def _note(self, text: str, keep_open: str | None = None) -> None:
        """A line on stderr (left open on a terminal for a started stage, ``keep_open``)."""
        if self._quiet:
            return
        self._end_lines()
        if keep_open is not None and self._tty:
            self._err.write(text)
            self._open_stage = keep_open
        else:
            self._err.write(text + "\n")
        self._err.flush()

    def _end_stage_line(self) -> None:
        if self._open_stage is not None:
            self._open_stage = None
            self._err.write("\n")
            self._err.flush()

    def _end_lines(self) -> None:
        """End the answer's line and an open stage line, so that the next output starts a line."""
        if self._quiet:
            return
        if self._mid_line:
            self._out.write("\n")
            self._out.flush()
            self._mid_line = False
        self._end_stage_line()


def _written_ms(fields: dict[str, str]) -> int:
    """When the entry was written (its ``ts``); an entry without one counts as written on arrival."""
    ts = fields.get("ts", "")
    return int(ts) if ts.isdigit() else time.time_ns() // 1_000_000


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False
