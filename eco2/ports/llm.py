"""Ports of the language-model side: intent classification and the streamed answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from eco2.domain.intents import IntentResult
from eco2.domain.subagents import SubagentResult


class IntentClassifierPort(Protocol):
    """Decides what a message is about (the result names the provider that decided)."""

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        """Classify ``message``; ``history`` holds the session's earlier user messages, newest last."""
        ...


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of the session."""

    user: str
    assistant: str
    intent: str


@dataclass(frozen=True, slots=True)
class AnswerInput:
    """Everything the answer writer may use."""

    message: str
    intents: tuple[str, ...]
    results: tuple[SubagentResult, ...]
    history: tuple[Turn, ...] = ()
    summary: str = ""
    missing: tuple[str, ...] = field(default=())
    """Subagents whose data is missing from the answer (partial answer: the text must say so)."""


class AnswerWriterPort(Protocol):
    """Writes the answer as a stream of text pieces."""

    provider: str

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        """Yield the answer piece by piece; raise ``UpstreamError`` when the model fails."""
        ...
