"""The ``waste_rag`` slice: an item's disposal rule from eco2's own corpus (``subagent.py``).

The retriever and the corpus are the shared library ``eco2.rag``; this package only turns a retrieval into a
subagent result.
"""

from __future__ import annotations

from eco2.subagents.waste_rag.subagent import WasteRag, build

__all__ = ["WasteRag", "build"]
