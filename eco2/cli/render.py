"""Shows a job's events live in a terminal: stage progress on stderr, answer text on stdout."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from eco2.domain.events import TERMINAL_TYPES, EventType

_STAGE_LABELS = {"started": "…", "completed": "✓", "failed": "✗", "skipped": "–"}


@dataclass
class JobOutcome:
    """What a finished job produced."""

    job_id: str
    status: str = "running"
    intent: str = ""
    answer: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    events: int = 0


class LiveRenderer:
    """Applies events in order (including ``reset``) and prints them as they arrive."""

    def __init__(self, job_id: str, out: TextIO | None = None, err: TextIO | None = None, quiet: bool = False):
        self.outcome = JobOutcome(job_id)
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._quiet = quiet
        self._streamed = ""
        self._mid_line = False

    def apply(self, fields: dict[str, str]) -> None:
        """Handle one stream entry."""
        self.outcome.events += 1
        kind = fields.get("type")
        if kind == EventType.STAGE:
            if fields.get("intent"):
                self.outcome.intent = fields["intent"]
            self._note(f"[{_STAGE_LABELS.get(fields.get('status', ''), '?')} {fields.get('stage')}]")
        elif kind == EventType.TOKEN:
            delta = fields.get("delta", "")
            self._streamed += delta
            if not self._quiet and delta:
                self._out.write(delta)
                self._out.flush()
                self._mid_line = not delta.endswith("\n")
        elif kind == EventType.RESET:
            self._streamed = ""
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
            else:
                self._note(f"[error] {data.get('code')}: {data.get('message')}")

    def reject(self, record: dict[str, str]) -> None:
        """The worker refused the message (its record in ``{prefix}:chat:rejected``): an error outcome."""
        if record.get("code") == "no_answer":
            return  # nothing came: the caller reports the missing answer
        data = {"code": record.get("code", ""), "message": record.get("message", "")}
        self.outcome.status = "error"
        self.outcome.data = data
        self._note(f"[rejected] {data['code']}: {data['message']}")

    def _note(self, text: str) -> None:
        if not self._quiet:
            if self._mid_line:
                self._out.write("\n")
                self._out.flush()
                self._mid_line = False
            self._err.write(text + "\n")
            self._err.flush()
