"""Chooses the implementation behind each registry entry.

Each subagent module has a ``build(ctx)`` factory; subagents whose upstream has no key or address answer
"not configured" at once (no network call) so the chat still answers. Factories do no I/O.
"""

from __future__ import annotations

from eco2.ports.subagents import SubagentPort
from eco2.rag.retriever import WasteRetriever
from eco2.subagents import (
    bulk_waste,
    character,
    collection_point,
    image_generation,
    location,
    recyclable_price,
    vision,
    weather,
    web_search,
)
from eco2.subagents.context import SubagentContext
from eco2.subagents.general import FaqGeneral
from eco2.subagents.waste_rag import WasteRag


def _retriever(ctx: SubagentContext) -> WasteRetriever:
    default = WasteRetriever.default()
    if ctx.settings.rag_weak_threshold is None:
        return default
    return WasteRetriever(default.items, weak_threshold=ctx.settings.rag_weak_threshold)


def build_subagents(ctx: SubagentContext) -> dict[str, SubagentPort]:
    """Implementation per subagent name (every name of the registry)."""
    return {
        "vision": vision.build(ctx),
        "waste_rag": WasteRag(_retriever(ctx)),
        "weather": weather.build(ctx),
        "bulk_waste": bulk_waste.build(ctx),
        "character": character.build(ctx),
        "location": location.build(ctx),
        "web_search": web_search.build(ctx),
        "collection_point": collection_point.build(ctx),
        "recyclable_price": recyclable_price.build(ctx),
        "image_generation": image_generation.build(ctx),
        "general": FaqGeneral(),
    }
