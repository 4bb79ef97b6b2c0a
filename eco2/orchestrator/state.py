"""The graph state of a chat thread.

Every channel keeps the last value written (no reducers), so a node's update applied over the state is the
state after that node. Per-turn fields are overwritten by each new message's input; ``turns`` and ``summary`` carry the
session's memory across turns (bounded by :mod:`eco2.orchestrator.memory`). Every value is JSON-safe so
the checkpointer never needs pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from eco2.domain.subagents import SubagentResult


class ChatState(TypedDict, total=False):
    """State of one LangGraph thread (a session, or a single job without a session)."""

    job_id: str
    """The job this turn belongs to; a continuation for another job is stale and ignored."""
    accepted_at: float
    """Epoch seconds when the job was accepted (time to first token)."""
    request: dict[str, Any]
    """The validated contract kwargs of this turn."""
    intents: list[dict[str, Any]]
    """``[{"intent": ..., "confidence": ...}]``, primary first."""
    intent_provider: str
    plan: list[str]
    """Subagents of the next (or current) round."""
    round: int
    hints: dict[str, str]
    """Facts for the subagents: carried from earlier turns (item, district), then found by a round (vision)."""
    query_message: str
    """What the subagents read when it is not the message itself: a question back plus this reply to it."""
    results: dict[str, dict[str, Any]]
    """Subagent name -> ``SubagentResult.to_dict()`` for this turn."""
    missing: list[str]
    fallbacks: list[str]
    closed_failure: str
    answer: str
    sources: list[dict[str, str]]
    answer_provider: str
    ended: str
    """How the answer node's ``done`` went: ``"done"`` written, ``"late"`` (the job had already ended), or
    ``""`` when it did not run."""
    turns: list[dict[str, str]]
    """Recent turns ``{"user", "assistant", "intent"}`` plus what each was about (``item``, ``district``,
    ``place``, ``awaiting``/``question``: see :mod:`eco2.orchestrator.followup`), oldest first, at most
    ``history_turns``."""
    summary: str
    """Bounded summary of turns older than ``turns``."""


def results_of(state: Mapping[str, Any]) -> dict[str, SubagentResult]:
    """The turn's subagent results, decoded (the state keeps them as JSON-safe dicts)."""
    return {name: SubagentResult.from_dict(raw) for name, raw in state.get("results", {}).items()}


def turn_input(job_id: str, request: dict[str, Any], accepted_at: float = 0.0) -> ChatState:
    """The input that starts a new turn: resets every per-turn field."""
    return ChatState(
        job_id=job_id,
        accepted_at=accepted_at,
        request=request,
        intents=[],
        intent_provider="",
        plan=[],
        round=0,
        hints={},
        query_message="",
        results={},
        missing=[],
        fallbacks=[],
        closed_failure="",
        answer="",
        sources=[],
        answer_provider="",
        ended="",
    )
