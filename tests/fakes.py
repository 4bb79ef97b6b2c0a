"""Small hand-written fakes (no mocks): scripted classifier, subagents and answer writers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.domain.intents import Intent, IntentResult, IntentScore
from eco2.domain.registry import REGISTRY
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import PermanentError, RetryableError
from eco2.ports.llm import AnswerInput
from eco2.subagents.unavailable import NotConfigured


class KeywordClassifier:
    """First keyword wins; ``general`` otherwise. Follow-ups (``그럼``) inherit the last topic."""

    provider = "fake"

    def __init__(self, rules: Sequence[tuple[str, Intent]] = ()) -> None:
        self.rules = list(rules) or [
            ("페트", Intent.WASTE),
            ("캔", Intent.WASTE),
            ("소파", Intent.BULK_WASTE),
            ("날씨", Intent.WEATHER),
            ("근처", Intent.LOCATION),
            ("양자", Intent.WASTE),
        ]
        self.seen_history: list[list[str]] = []

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        self.seen_history.append(list(history))
        found = [intent for word, intent in self.rules if word in message]
        if not found and message.startswith("그럼") and history:
            found = [intent for word, intent in self.rules if word in history[-1]]
        intents = list(dict.fromkeys(found)) or [Intent.GENERAL]
        return IntentResult(tuple(IntentScore(i, 0.9) for i in intents), provider=self.provider)


@dataclass
class ScriptedSubagent:
    """Returns (or raises) what ``script`` says for each call; records the queries."""

    name: str
    script: Callable[[SubagentQuery], SubagentResult] | None = None
    delay_s: float = 0.0
    calls: list[SubagentQuery] = field(default_factory=list)

    def run(self, query: SubagentQuery) -> SubagentResult:
        self.calls.append(query)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.script is None:
            return SubagentResult(self.name, ResultStatus.OK, summary=f"{self.name} 결과", sources=(Source(self.name),))
        return self.script(query)


def ok(name: str, summary: str = "") -> Callable[[SubagentQuery], SubagentResult]:
    """A script that answers OK."""
    return lambda q: SubagentResult(name, ResultStatus.OK, summary=summary or f"{name} 결과")


def status(name: str, value: ResultStatus) -> Callable[[SubagentQuery], SubagentResult]:
    """A script that answers with ``value``."""
    return lambda q: SubagentResult(name, value)


def raises(exc: Exception) -> Callable[[SubagentQuery], SubagentResult]:
    """A script that raises ``exc``."""

    def run(query: SubagentQuery) -> SubagentResult:
        raise exc

    return run


def all_subagents(**overrides: object) -> dict[str, object]:
    """An implementation for every registry entry: OK fakes unless overridden."""
    impls: dict[str, object] = {spec.name: ScriptedSubagent(spec.name) for spec in REGISTRY}
    impls.update(overrides)
    return impls


def not_configured(name: str) -> NotConfigured:
    """The production "not configured" subagent."""
    return NotConfigured(name, "no key")


class ListWriter:
    """Streams fixed pieces; optionally fails after ``fail_after`` pieces (like a dropped LLM stream)."""

    provider = "fake-llm"

    def __init__(
        self,
        pieces: Sequence[str] = ("모델 ", "답변"),
        fail_after: int | None = None,
        retryable: bool = True,
        delay_s: float = 0.0,
    ) -> None:
        self.pieces = list(pieces)
        self.fail_after = fail_after
        self.retryable = retryable
        self.delay_s = delay_s
        self.inputs: list[AnswerInput] = []

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        self.inputs.append(answer_input)
        for n, piece in enumerate(self.pieces):
            if self.fail_after is not None and n == self.fail_after:
                raise (RetryableError if self.retryable else PermanentError)("stream broke")
            if self.delay_s:
                time.sleep(self.delay_s)
            yield piece


__all__ = ["RetryableError"]


NOOP_METRICS = NoOpMetricsAdapter()
NOOP_TELEMETRY = NoOpTelemetryConfig()


def scheduling_of(fake: Any) -> Callable[[Any], Any]:
    """``bootstrap``'s ``scheduling`` with one fake standing in for every scheduling port."""
    from eco2.bootstrap import Scheduling

    return lambda _runner: Scheduling(fake, fake, fake, fake)


def service_on(container: Any, events: Any, fake: Any, telemetry: Any = None) -> Any:
    """A ``ChatService`` on ``container``'s graph and sessions whose scheduling ports are all ``fake``."""
    from eco2.bootstrap import Scheduling, job_ending
    from eco2.orchestrator.rounds import RoundSender
    from eco2.orchestrator.service import ChatService

    ports = Scheduling(fake, fake, fake, fake)
    return ChatService(
        container.graph,
        events,
        container.sessions,
        rounds=RoundSender(fake, container.runner),
        deadlines=fake,
        ending=job_ending(container.settings, events, container.sessions, ports, NOOP_METRICS),
        metrics=NOOP_METRICS,
        telemetry=telemetry or NOOP_TELEMETRY,
    )
