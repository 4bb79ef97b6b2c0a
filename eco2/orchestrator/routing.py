"""Routing rules as pure functions: which subagents an intent needs, and what to do with their results.

Which subagents an intent plans follows the source article's map (waste -> waste_rag + weather,
bulk_waste -> bulk_waste + weather, ...), read from the registry: each entry says which intents it serves
and which it enriches. The fallback chain and fail modes come from the registry too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eco2.domain.intents import Intent
from eco2.domain.registry import REGISTRY, spec_for
from eco2.domain.subagents import FailMode, ResultStatus, SubagentResult

MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class IntentFeature:
    """What serving one intent takes; ``required`` is the subagent the answer cannot do without."""

    subagents: tuple[str, ...]
    required: str


def feature_of(intent: Intent) -> IntentFeature:
    """The subagents ``intent`` plans and the one it requires, as the registry declares them."""
    return IntentFeature(REGISTRY.serving(intent), REGISTRY.required_for(intent))


def unique(names: Iterable[str]) -> list[str]:
    """``names`` in first-seen order, without duplicates."""
    return list(dict.fromkeys(names))


def plan_for(intents: Sequence[str]) -> list[str]:
    """The subagents serving ``intents``, in intent order, without duplicates."""
    return unique(name for intent in intents for name in REGISTRY.serving(Intent(intent)))


def first_round(intents: Sequence[str], has_image: bool) -> list[str]:
    """Round one: with an image, vision runs first (its item feeds waste_rag); otherwise the plan."""
    if has_image:
        return ["vision"]
    return plan_for(intents)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the aggregate step decided after a round."""

    next_round: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    closed_failure: str | None = None
    hints: dict[str, str] = field(default_factory=dict)


def decide(
    intents: Sequence[str],
    results: Mapping[str, SubagentResult],
    round_names: Sequence[str],
    round_no: int,
) -> Decision:
    """Check what the finished round (``round_names``) delivered; plan the next round if needed."""
    if round_names == ["vision"]:
        vision = results.get("vision")
        if vision is not None and vision.status is ResultStatus.OK and vision.data.get("item"):
            return Decision(next_round=plan_for(intents), hints={"item": str(vision.data["item"])})
        return Decision(next_round=plan_for(intents), missing=["vision"])
    next_round: list[str] = []
    missing: list[str] = []
    fallbacks: list[str] = []
    required = {REGISTRY.required_for(Intent(intent)) for intent in intents}
    for name in round_names:
        result = results.get(name) or SubagentResult(name, ResultStatus.FAILED, error="no result arrived")
        if result.status in (ResultStatus.OK, ResultStatus.NEEDS_INPUT):
            continue
        spec = spec_for(name)
        if spec.fail_mode is FailMode.CLOSED:
            return Decision(closed_failure=name)
        target = spec.fallback
        can_fall_back = (
            spec.fail_mode is FailMode.FALLBACK
            and target is not None
            and target not in results
            and round_no < MAX_ROUNDS
        )
        if can_fall_back and target is not None:
            next_round.append(target)
            fallbacks.append(f"{name}->{target}")
        if result.status is not ResultStatus.NOT_CONFIGURED or name in required or can_fall_back:
            # An unconfigured enrichment (e.g. weather beside waste_rag) is not worth a caveat.
            missing.append(name)
    return Decision(next_round=unique(next_round), missing=missing, fallbacks=fallbacks)


def _covered(name: str, results: Mapping[str, SubagentResult]) -> bool:
    """Whether ``name`` or a subagent down its fallback chain delivered a usable result."""
    current: str | None = name
    while current is not None:
        result = results.get(current)
        if result is not None and result.status is ResultStatus.OK:
            return True
        current = spec_for(current).fallback
    return False


def required_missing(intents: Sequence[str], results: Mapping[str, SubagentResult]) -> list[str]:
    """Required subagents (per intent) not covered by a usable result: the answer is partial."""
    return unique(
        required
        for required in (REGISTRY.required_for(Intent(intent)) for intent in intents)
        if not _covered(required, results)
    )
