"""Labelled chat messages for training and evaluating intent classifiers, read from JSON Lines.

One JSON object per line::

    {"text": "페트병 버리는 법이랑 오늘 날씨", "intent": "waste", "also": ["weather"]}

``also`` (secondary intents) and ``history`` (the user's earlier messages, newest last) are optional;
other keys are ignored so that annotators can keep notes. Everything else is checked strictly, and an
error names the file and line, because a silently skipped or mislabelled line skews every number
computed from the set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eco2.domain.intents import Intent

__all__ = ["DatasetError", "LabelledExample", "load_examples", "parse_examples"]


class DatasetError(ValueError):
    """A labelled-examples file is malformed; the message starts with ``<file>:<line>:``."""


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """One chat message with the intents a human assigned to it."""

    text: str
    """The message as the user typed it."""
    intent: Intent
    """The primary intent."""
    also: tuple[Intent, ...] = ()
    """Secondary intents of a multi-intent message, most important first."""
    history: tuple[str, ...] = ()
    """The user's earlier messages in the session, newest last (for follow-up questions)."""
    line: int = 0
    """1-based line number in the source file, 0 when the example was built in code."""


def load_examples(path: str | os.PathLike[str]) -> list[LabelledExample]:
    """Read and validate a JSONL file of labelled examples; raise :class:`DatasetError` naming the line."""
    source = Path(path)
    with source.open(encoding="utf-8") as handle:
        return parse_examples(handle, source=str(source))


def parse_examples(lines: Iterable[str], source: str = "<examples>") -> list[LabelledExample]:
    """Parse JSONL ``lines`` (blank lines are skipped); ``source`` names the origin in error messages."""
    examples: list[LabelledExample] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from exc
        examples.append(_example(record, where, number))
    if not examples:
        raise DatasetError(f"{source}: no examples")
    return examples


def _example(record: Any, where: str, number: int) -> LabelledExample:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: 'text' must be a non-empty string")
    intent = _intent(record.get("intent"), where, "intent")
    also = tuple(_intent(value, where, "also") for value in _list(record.get("also", []), where, "also"))
    if intent in also or len(set(also)) != len(also):
        raise DatasetError(f"{where}: 'also' repeats an intent: {[i.value for i in (intent, *also)]}")
    history = _list(record.get("history", []), where, "history")
    if not all(isinstance(turn, str) for turn in history):
        raise DatasetError(f"{where}: 'history' must be a list of strings")
    return LabelledExample(text=text, intent=intent, also=also, history=tuple(history), line=number)


def _intent(value: Any, where: str, field: str) -> Intent:
    try:
        return Intent(value)
    except ValueError:
        known = ", ".join(intent.value for intent in Intent)
        raise DatasetError(f"{where}: unknown {field} {value!r} (expected one of: {known})") from None


def _list(value: Any, where: str, field: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise DatasetError(f"{where}: {field!r} must be a list")
    return value
