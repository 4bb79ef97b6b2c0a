"""DuckDuckGo-style metasearch through the ``ddgs`` library (opt-in: ``ECO2_WEB_SEARCH=ddgs``)."""

from __future__ import annotations

from eco2.adapters.ddgs.search import UPSTREAM, DdgsWebSearch, TextSearch, WebHit

__all__ = ["UPSTREAM", "DdgsWebSearch", "TextSearch", "WebHit"]
