"""Text helpers shared by the two web search clients (``ddgs_search.py``, ``openai_search.py``) and the summary."""

from __future__ import annotations

from urllib.parse import urlsplit

SNIPPET_CHARS = 120
"""Longest snippet or title line a search result carries into an answer."""


def one_line(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def site(url: str) -> str:
    """The host of ``url`` without ``www.``, to show where a result is from ('' when it has none)."""
    return urlsplit(url).netloc.removeprefix("www.")
