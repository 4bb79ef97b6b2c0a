"""Keeps a session's memory bounded: recent turns verbatim, older ones folded into a short summary.

The summary is extractive (the user's questions and the intents), which needs no model and cannot
hallucinate; its size is capped so a long session never overflows the LLM context.
"""

from __future__ import annotations

from collections.abc import Sequence


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remember(
    turns: Sequence[dict[str, str]],
    summary: str,
    new_turn: dict[str, str],
    keep_turns: int,
    summary_max_chars: int,
) -> tuple[list[dict[str, str]], str]:
    """Append ``new_turn``; fold turns beyond ``keep_turns`` into ``summary`` (capped, newest kept)."""
    all_turns = [*turns, new_turn]
    overflow, kept = all_turns[:-keep_turns], all_turns[-keep_turns:]
    lines = [line for line in summary.split("\n") if line]
    lines.extend(f"- ({t.get('intent', '')}) {_clip(t.get('user', ''), 120)}" for t in overflow)
    while lines and len("\n".join(lines)) > summary_max_chars:
        lines.pop(0)
    return kept, "\n".join(lines)
