"""The folded forms Korean phrases and messages are compared in (catalogues, place and item words).

Korean is written with or without spaces ("종이 박스" / "종이박스") and mixes full-width and Latin letters,
so lookups compare NFKC-folded, lower-cased text, and keys drop the whitespace as well. (The intent
classifier and the retriever have their own, richer normal forms.)
"""

from __future__ import annotations

import unicodedata


def normalize(text: str) -> str:
    """NFKC, lower case: the form phrases and messages are compared in."""
    return unicodedata.normalize("NFKC", text).lower()


def compact(text: str) -> str:
    """``normalize`` without whitespace: the key of a phrase."""
    return "".join(normalize(text).split())
