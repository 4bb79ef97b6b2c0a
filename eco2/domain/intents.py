"""The closed set of intents a chat message can have, and what each one needs.

The set is part of the public contract (it appears in ``done`` events and in metric labels), so it is an
enum and never grows silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    """What the user wants; exactly the ten intents of the Eco² design."""

    WASTE = "waste"
    BULK_WASTE = "bulk_waste"
    CHARACTER = "character"
    LOCATION = "location"
    WEATHER = "weather"
    WEB_SEARCH = "web_search"
    COLLECTION_POINT = "collection_point"
    RECYCLABLE_PRICE = "recyclable_price"
    IMAGE_GENERATION = "image_generation"
    GENERAL = "general"


ALL_INTENTS: tuple[Intent, ...] = tuple(Intent)


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One intent with the classifier's confidence in it (0..1)."""

    intent: Intent
    confidence: float


@dataclass(frozen=True, slots=True)
class IntentResult:
    """A classification: the primary intent first, then any secondary intents of a multi-intent message.

    ``confidence`` is the primary intent's confidence; ``provider`` names the classifier that decided
    (``offline`` or ``openai``), which metrics use as a label.
    """

    intents: tuple[IntentScore, ...]
    provider: str = "offline"

    @property
    def primary(self) -> Intent:
        """The intent the answer is mainly about."""
        return self.intents[0].intent

    @property
    def confidence(self) -> float:
        """Confidence of the primary intent."""
        return self.intents[0].confidence

    def names(self) -> list[str]:
        """Intent values, primary first, for state and events."""
        return [score.intent.value for score in self.intents]
