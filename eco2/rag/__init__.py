"""waste_rag: the Korean disposal knowledge base and the retriever that grounds waste answers on it.

Public API::

    from eco2.rag import WasteRetriever
    result = WasteRetriever.default().search("페트병 어떻게 버려?")
    if not result.weak:
        item = result.best   # WasteItem: name, steps, cautions, bin, category

The corpus lives in ``eco2/data/waste/*.yaml`` (see its README); ``eco2.rag.evaluation`` scores a
retriever against a labelled question set (``python bench/eval_rag.py``).
"""

from __future__ import annotations

from eco2.rag.corpus import CorpusError, WasteCategory, WasteItem, load_corpus
from eco2.rag.retriever import DEFAULT_WEAK_THRESHOLD, Retrieval, RetrievalHit, WasteRetriever

__all__ = [
    "DEFAULT_WEAK_THRESHOLD",
    "CorpusError",
    "Retrieval",
    "RetrievalHit",
    "WasteCategory",
    "WasteItem",
    "WasteRetriever",
    "load_corpus",
]
