"""The ``waste_rag`` subagent: finds the disposal rule of an item in the project's own corpus.

A weak retrieval is reported as ``WEAK`` (not ``OK``) so that the aggregate step can take the fallback
chain (web_search, then general) instead of answering with an unrelated item.
"""

from __future__ import annotations

from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.rag.corpus import WasteItem
from eco2.rag.retriever import WasteRetriever
from eco2.subagents.context import SubagentContext


def describe(item: WasteItem) -> str:
    """Korean instructions for one item: where it goes, the steps, and the cautions."""
    lines = [f"[{item.name}] {item.category.name} → {item.bin}"]
    lines.extend(f"{n}. {step}" for n, step in enumerate(item.steps, start=1))
    lines.extend(f"※ {caution}" for caution in item.cautions)
    return "\n".join(lines)


class WasteRag:
    """Implements ``SubagentPort`` for ``waste_rag`` on a :class:`WasteRetriever`."""

    def __init__(self, retriever: WasteRetriever) -> None:
        self._retriever = retriever

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Retrieve the best item for the query (the vision item when there is one)."""
        text = query.hints.get("item") or query.message
        retrieval = self._retriever.search(text, k=3)
        hits = [
            {"id": h.item.id, "name": h.item.name, "category": h.item.category.id, "score": round(h.score, 3)}
            for h in retrieval.hits
        ]
        data = {"quality": round(retrieval.quality, 3), "hits": hits}
        if not retrieval.hits:
            return SubagentResult("waste_rag", ResultStatus.EMPTY, data=data)
        top = retrieval.hits[0].item
        status = ResultStatus.WEAK if retrieval.weak else ResultStatus.OK
        return SubagentResult(
            "waste_rag",
            status,
            summary=describe(top) if status is ResultStatus.OK else "",
            data=data,
            sources=(Source(f"eco2 분리배출 지식베이스: {top.name}", f"eco2://waste/{top.id}"),),
        )


def build(ctx: SubagentContext) -> SubagentPort:
    """The bundled corpus's retriever, with the configured weak threshold when one is set."""
    default = WasteRetriever.default()
    if ctx.settings.rag_weak_threshold is None:
        return WasteRag(default)
    return WasteRag(WasteRetriever(default.items, weak_threshold=ctx.settings.rag_weak_threshold))
