"""What a finished turn reports: the ``done`` event's data and its request metrics, in one place.

The answer node writes ``done`` itself, as its last act, so the reader does not wait for LangGraph to
save the checkpoint; the service writes it only when a graph finished without it (a process that died
between the two). Both build the event from the turn's state and count the request here. What the turn's
retrieval was worth, for the trace (the source article's feedback loop), is read from the same state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.orchestrator import routing
from eco2.orchestrator.state import results_of
from eco2.ports.metrics import MetricsPort
from eco2.ports.telemetry import TraceFeedback

RETRIEVAL = "waste_rag"
"""The subagent whose retrieval is scored."""


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """The ``done`` data of a turn, with the labels its metrics need."""

    data: dict[str, Any]
    intent: str
    partial: bool
    provider: str

    @property
    def status(self) -> str:
        """The request status label: ``partial`` when a required result is missing, else ``success``."""
        return "partial" if self.partial else "success"

    def count(self, metrics: MetricsPort, elapsed_s: float) -> None:
        """Count the answered request, right after its ``done`` was written (a scrape then sees it)."""
        metrics.track_request(self.intent, self.status, self.provider, elapsed_s)
        if self.partial:
            metrics.track_partial(self.intent)


def primary_intent(state: Mapping[str, Any]) -> str | None:
    """The turn's primary intent, once classified."""
    intents = state.get("intents") or []
    return str(intents[0]["intent"]) if intents else None


def outcome_of(state: Mapping[str, Any]) -> TurnOutcome:
    """The ``done`` data (without ``answer``: the stream inserts the streamed text) of ``state``'s turn."""
    intents = [entry["intent"] for entry in state.get("intents", [])]
    intent = primary_intent(state) or "general"
    results = results_of(state)
    partial = bool(routing.required_missing(intents, results))
    data = {
        "intent": intent,
        "intents": state.get("intents", []),
        "sources": state.get("sources", []),
        "subagents": {name: result.status.value for name, result in results.items()},
        "missing": state.get("missing", []),
        "partial": partial,
        "fallbacks": state.get("fallbacks", []),
        "provider": {
            "intent": state.get("intent_provider", ""),
            "answer": state.get("answer_provider", ""),
        },
    }
    data.update(extras(results))
    return TurnOutcome(data, intent, partial, str(state.get("answer_provider", "") or "none"))


def extras(results: Mapping[str, SubagentResult]) -> dict[str, Any]:
    """Result data the contract surfaces in ``done`` (e.g. a generated image's reference)."""
    found: dict[str, Any] = {}
    image = results.get("image_generation")
    if image is not None and image.status is ResultStatus.OK:
        found["image"] = image.data
    return found


def retrieval_feedback(state: Mapping[str, Any]) -> tuple[TraceFeedback, ...]:
    """The scores of the turn's retrieval, or none when it did not run.

    - ``retrieval_quality``: the retriever's quality score (0..1), labelled with the top item's id;
    - ``retrieval_weak``: 1 when nothing really matched (``weak`` or ``empty``), 0 otherwise, labelled
      with the result's status;
    - ``retrieval_fallback``: 1 when the fallback chain was taken, labelled with the path it took
      (``waste_rag->web_search->general``), else 0 and ``none``.

    The first two need the retriever's answer; a retrieval that failed or timed out has only the third.
    """
    result = results_of(state).get(RETRIEVAL)
    if result is None:
        return ()
    scores: list[TraceFeedback] = []
    quality = result.data.get("quality")
    if isinstance(quality, int | float) and not isinstance(quality, bool):
        hits = result.data.get("hits") or []
        top = str(hits[0].get("id")) if hits and isinstance(hits[0], Mapping) else None
        weak = result.status in (ResultStatus.WEAK, ResultStatus.EMPTY)
        scores.append(TraceFeedback("retrieval_quality", float(quality), top))
        scores.append(TraceFeedback("retrieval_weak", 1.0 if weak else 0.0, result.status.value))
    path = fallback_path(RETRIEVAL, state.get("fallbacks", []))
    fell_back = len(path) > 1
    scores.append(
        TraceFeedback("retrieval_fallback", 1.0 if fell_back else 0.0, "->".join(path) if fell_back else "none")
    )
    return tuple(scores)


def fallback_path(start: str, fallbacks: Sequence[str]) -> list[str]:
    """The subagents a turn went through from ``start`` along its fallback steps (``"a->b"``)."""
    steps: dict[str, str] = {}
    for step in fallbacks:
        source, _, target = step.partition("->")
        steps.setdefault(source, target)
    path = [start]
    while steps.get(path[-1]) and steps[path[-1]] not in path:
        path.append(steps[path[-1]])
    return path
