"""Chooses the implementation behind each registry entry from the settings.

Subagents whose upstream has no key or address answer "not configured" at once (no network call) so the
chat still answers; the real upstream clients plug in here.
"""

from __future__ import annotations

from eco2.config import Settings
from eco2.ports.subagents import SubagentPort
from eco2.rag.retriever import WasteRetriever
from eco2.subagents.general import FaqGeneral
from eco2.subagents.unavailable import NotConfigured
from eco2.subagents.waste_rag import WasteRag


def _retriever(settings: Settings) -> WasteRetriever:
    default = WasteRetriever.default()
    if settings.rag_weak_threshold is None:
        return default
    return WasteRetriever(default.items, weak_threshold=settings.rag_weak_threshold)


def build_subagents(settings: Settings) -> dict[str, SubagentPort]:
    """Implementation per subagent name (every name of the registry)."""
    not_ready = "이 기능은 아직 연결되지 않았어요"
    return {
        "vision": NotConfigured("vision", "OPENAI_API_KEY is not set"),
        "waste_rag": WasteRag(_retriever(settings)),
        "weather": NotConfigured("weather", "DATA_GO_KR_SERVICE_KEY is not set"),
        "bulk_waste": NotConfigured("bulk_waste", not_ready),
        "character": NotConfigured("character", not_ready),
        "location": NotConfigured("location", not_ready),
        "web_search": NotConfigured("web_search", not_ready),
        "collection_point": NotConfigured("collection_point", not_ready),
        "recyclable_price": NotConfigured("recyclable_price", not_ready),
        "image_generation": NotConfigured("image_generation", not_ready),
        "general": FaqGeneral(),
    }
