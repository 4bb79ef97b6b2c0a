"""The graph's nodes: intent (and round one's plan) -> dispatch (interrupt, then the round's verdict) -> answer.

``dispatch`` does not run subagents: it interrupts the graph with the round's plan. The Celery side fans
the plan out as a chord and resumes the graph with the results in a callback task, so no worker slot is
held while subagents run. ``answer`` ends the job's stream with ``done`` itself, so readers do not wait
for LangGraph to save the checkpoint after it. Per-job objects (the event writer) arrive through the
runtime context.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from eco2.domain.events import StageStatus
from eco2.domain.subagents import SubagentResult
from eco2.errors import JobEndedError, UpstreamError
from eco2.orchestrator import routing
from eco2.orchestrator.followup import Resolution, TopicReader
from eco2.orchestrator.memory import remember
from eco2.orchestrator.outcome import outcome_of
from eco2.orchestrator.state import ChatState, results_of
from eco2.ports.events import JobEventsPort
from eco2.ports.llm import AnswerInput, AnswerWriterPort, IntentClassifierPort, Turn
from eco2.ports.metrics import MetricsPort, StreamTrackerPort

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunContext:
    """Per-invocation objects that must not be checkpointed."""

    events: JobEventsPort


@dataclass(frozen=True, slots=True)
class NodeDeps:
    """Long-lived collaborators of the nodes, chosen by the composition root."""

    classifier: IntentClassifierPort
    writer: AnswerWriterPort
    fallback_writer: AnswerWriterPort
    metrics: MetricsPort
    topics: TopicReader
    history_turns: int = 6
    summary_max_chars: int = 1200


class Nodes:
    """Node functions bound to their dependencies."""

    def __init__(self, deps: NodeDeps) -> None:
        self.deps = deps

    def intent(self, state: ChatState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        """Classify the message, resolve what a follow-up refers to, and plan round one.

        The classifier uses the session's earlier messages to carry the intent of a follow-up; the topic
        reader carries its item and district as hints, and turns a bare reply to the previous turn's
        question ("강남구요") back into that question. Planning lives here, not in a node of its own: every
        LangGraph step costs a superstep's bookkeeping on the chat's critical path, and the plan is a pure
        function of the intents.
        """
        events = runtime.context.events
        events.stage("intent", StageStatus.STARTED)
        turns = state.get("turns", [])
        message = state["request"]["message"]
        started = time.perf_counter()
        result = self.deps.classifier.classify(message, [turn["user"] for turn in turns])
        classified = [(s.intent.value, round(s.confidence, 4)) for s in result.intents]
        resolution = self._resolve(message, [name for name, _ in classified], turns)
        if resolution.intents:  # the reply to a question back: the question's intents, surely
            classified = [(name, 1.0) for name in resolution.intents]
        primary = classified[0][0]
        self.deps.metrics.track_intent(primary, result.provider, time.perf_counter() - started)
        events.stage("intent", StageStatus.COMPLETED, intent=primary)
        if resolution.carried:
            log.debug("follow-up carries %s", ",".join(resolution.carried))
        intents = [name for name, _ in classified]
        has_image = bool(state["request"].get("image_url"))  # vision runs first when an image came along
        return {
            "intents": [{"intent": name, "confidence": confidence} for name, confidence in classified],
            "intent_provider": result.provider,
            "plan": routing.first_round(intents, has_image),
            "round": 1,
            "hints": resolution.hints,
            "query_message": resolution.message if resolution.message != message else "",
        }

    def dispatch(self, state: ChatState) -> dict[str, Any]:
        """Pause until the round's subagents have answered, then plan a fallback round or move on.

        The resume value is the round's results. LangGraph runs a resumed node again from its start, so
        everything before ``interrupt`` is pure; the decision after it needs no step of its own.
        """
        answered: list[dict[str, Any]] = interrupt(
            {"round": state["round"], "subagents": state["plan"], "hints": state.get("hints", {})}
        )
        merged = dict(state.get("results", {}))
        merged.update({raw["name"]: raw for raw in answered})
        intents = [entry["intent"] for entry in state["intents"]]
        decision = routing.decide(intents, results_of({"results": merged}), state["plan"], state["round"])
        for step in decision.fallbacks:
            source, _, target = step.partition("->")
            self.deps.metrics.track_fallback(source, target)
        update: dict[str, Any] = {
            "results": merged,
            "plan": decision.next_round,
            "round": state["round"] + 1,
            "missing": routing.unique([*state.get("missing", []), *decision.missing]),
            "fallbacks": [*state.get("fallbacks", []), *decision.fallbacks],
            "hints": {**state.get("hints", {}), **decision.hints},
        }
        if decision.closed_failure:
            update["closed_failure"] = decision.closed_failure
        return update

    def answer(self, state: ChatState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        """Stream the answer; if the model fails, restart it with the offline composer."""
        events = runtime.context.events
        if events.ended:
            raise JobEndedError("the job ended before its answer started")
        results = results_of(state)
        answer_input = AnswerInput(
            message=state["request"]["message"],
            intents=tuple(entry["intent"] for entry in state["intents"]),
            results=tuple(results.values()),
            history=tuple(Turn(t["user"], t["assistant"], t["intent"]) for t in state.get("turns", [])),
            summary=state.get("summary", ""),
            missing=tuple(name for name in state.get("missing", []) if not _recovered(name, results)),
        )
        events.stage("answer", StageStatus.STARTED)
        writer = self.deps.writer
        first_token = _FirstToken(self.deps.metrics, writer.provider, state.get("accepted_at", 0.0))
        with self.deps.metrics.stream_tracker("answer", writer.provider) as tracker:
            # Stays attached: the last tokens go out with the terminal event, after the tracker has closed.
            events.observe(tracker)
            events.begin_answer()
            try:
                text = _stream(writer, answer_input, events, tracker, first_token)
            except UpstreamError as exc:
                log.warning("answer model failed (%s); composing offline", type(exc).__name__)
                self.deps.metrics.track_recovery("model_fallback")
                writer = self.deps.fallback_writer
                events.begin_answer()
                text = _stream(writer, answer_input, events, tracker, first_token)
            events.stage("answer", StageStatus.COMPLETED)
        turns, summary = self._remember(state, text)
        update: dict[str, Any] = {
            "answer": text,
            "sources": _merge_sources(results.values()),
            "answer_provider": writer.provider,
            "turns": turns,
            "summary": summary,
        }
        # The tokens still buffered go out with it. Should this process die before the checkpoint is
        # saved, the redelivered continuation answers again into a finished job: its writes are dropped.
        outcome = outcome_of({**state, **update})
        wrote = events.done(outcome.data)
        if wrote:
            accepted_at = state.get("accepted_at") or 0.0
            outcome.count(self.deps.metrics, max(time.time() - accepted_at, 0.0) if accepted_at else 0.0)
        return {**update, "ended": "done" if wrote else "late"}

    def _remember(self, state: ChatState, answer: str) -> tuple[list[dict[str, str]], str]:
        """The session memory with this turn added, kept bounded (same step as the answer: one checkpoint).

        The turn keeps what it was about (item, district, a question it asked back) for follow-ups.
        """
        intents = [entry["intent"] for entry in state.get("intents", [])] or ["general"]
        try:
            topic = self.deps.topics.topic(
                state.get("query_message") or state["request"]["message"],
                intents,
                state.get("hints", {}),
                results_of(state),
            )
        except Exception:  # what a turn was about is a courtesy to the next one: never worth a streamed answer
            log.warning("could not note what this turn was about; the next one will not lean on it", exc_info=True)
            topic = {}
        turn = {**topic, "user": state["request"]["message"], "assistant": answer, "intent": intents[0]}
        return remember(
            state.get("turns", []),
            state.get("summary", ""),
            turn,
            self.deps.history_turns,
            self.deps.summary_max_chars,
        )

    def _resolve(self, message: str, intents: list[str], turns: list[dict[str, str]]) -> Resolution:
        """The follow-up reading of ``message``; the message as it is should the resolver fail."""
        try:
            return self.deps.topics.resolve(message, intents, turns)
        except Exception:
            log.warning("follow-up resolution failed; the message is read on its own", exc_info=True)
            return Resolution(message=message)


class _FirstToken:
    """Reports the time from job acceptance to the first answer token, once."""

    def __init__(self, metrics: MetricsPort, provider: str, accepted_at: float) -> None:
        self._metrics, self._provider, self._accepted_at = metrics, provider, accepted_at
        self._seen = False

    def __call__(self) -> None:
        if not self._seen and self._accepted_at:
            self._seen = True
            self._metrics.track_time_to_first_token(self._provider, time.time() - self._accepted_at)


def _stream(
    writer: AnswerWriterPort,
    answer_input: AnswerInput,
    events: JobEventsPort,
    tracker: StreamTrackerPort,
    first_token: _FirstToken,
) -> str:
    parts: list[str] = []
    for piece in writer.stream(answer_input):
        if piece:
            parts.append(piece)
            events.token("answer", piece)
            tracker.record_token()
            first_token()
        if events.ended:  # cancelled, or its deadline passed: leaving the loop closes the model's stream
            raise JobEndedError("the job ended while its answer streamed")
    return "".join(parts)


def _recovered(name: str, results: dict[str, SubagentResult]) -> bool:
    result = results.get(name)
    return result is not None and result.status.usable


def _merge_sources(results: Any) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for result in results:
        if result.status.usable:
            for source in result.sources:
                seen.setdefault((source.title, source.url), source.to_dict())
    return list(seen.values())
