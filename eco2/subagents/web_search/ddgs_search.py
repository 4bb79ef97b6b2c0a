"""Web search through ``ddgs`` (``DDGS().text``), with its failures translated into eco2's error tree.

``ddgs`` scrapes several search engines itself (no key, no API contract), synchronously. What its
failures mean, as of ddgs 9.x:

- ``DDGSException("No results found.")``: every engine answered and none had a hit (engines that answer
  with a non-200 status, a block page included, also end up here) -> an empty result, not an error.
- ``TimeoutException`` (a subclass of ``DDGSException``): an engine timed out -> retryable.
- ``RatelimitException`` (a subclass too; the library declares it for rate limiting) -> retryable.
- any other ``DDGSException``: the engines could not be reached (its message is the last engine's
  transport error) -> retryable; ``"query is mandatory."`` is our bug, -> permanent.

Calls go through the ``ddgs`` circuit breaker, so a blocked or offline host stops trying for a while.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import PermanentError, RetryableError
from eco2.subagents.web_search.text import one_line, site

UPSTREAM = "ddgs"
"""Breaker and metric label of this upstream."""
BACKENDS = "duckduckgo,brave,yahoo"
"""Engines asked. ``auto`` would start with the encyclopedias (wikipedia, grokipedia), which do not answer
"how do I sort X" questions, and may walk through all seven engines in waves of ``timeout`` each; three
engines take at most two waves (ddgs runs ``ceil(max_results / 10) + 1`` engines at a time). Checked
against the installed ddgs's engine list by a test."""

TextSearch = Callable[..., Sequence[Any]]
"""``DDGS().text``: ``(query, *, region, safesearch, max_results, backend) -> [{"title", "href", "body"}]``."""


@dataclass(frozen=True, slots=True)
class WebHit:
    """One search result."""

    title: str
    url: str
    snippet: str
    """One line of the result's text, at most ``SNIPPET_CHARS`` characters."""

    @property
    def domain(self) -> str:
        """The host without ``www.``, to show where a result is from."""
        return site(self.url)


def _ddgs_text(timeout_s: float) -> TextSearch:
    from ddgs import DDGS

    # ddgs takes whole seconds and applies them per engine wave, so round down to stay inside the budget.
    return DDGS(timeout=max(1, math.floor(timeout_s))).text


class DdgsWebSearch:
    """Searches the web with ``ddgs``; ``text_search`` replaces ``DDGS(timeout).text`` in tests."""

    def __init__(
        self,
        breakers: Breakers,
        timeout_s: float,
        max_results: int = 5,
        region: str = "kr-kr",
        text_search: Callable[[float], TextSearch] = _ddgs_text,
        backends: str = BACKENDS,
    ) -> None:
        self._breakers = breakers
        self._timeout_s = timeout_s
        self._max_results = max_results
        self._region = region
        self._text_search = text_search
        self._backends = backends

    def search(self, query: str) -> list[WebHit]:
        """The top results for ``query`` (an empty list when there are none)."""
        if not query.strip():
            raise PermanentError(f"{UPSTREAM}: empty query")
        return self._breakers.call(UPSTREAM, self._search, query.strip())

    def _search(self, query: str) -> list[WebHit]:
        text = self._text_search(self._timeout_s)
        try:
            raw = text(
                query,
                region=self._region,
                safesearch="moderate",
                max_results=self._max_results,
                backend=self._backends,
            )
        except RatelimitException as exc:
            raise RetryableError(f"{UPSTREAM}: rate limited") from exc
        except TimeoutException as exc:
            raise RetryableError(f"{UPSTREAM}: timed out after {self._timeout_s:g}s") from exc
        except DDGSException as exc:
            message = str(exc).lower()
            if "no results" in message:
                return []
            if "query is mandatory" in message:
                raise PermanentError(f"{UPSTREAM}: empty query") from exc
            raise RetryableError(f"{UPSTREAM}: search engines unreachable") from exc
        return self._hits(raw)

    def _hits(self, raw: object) -> list[WebHit]:
        if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
            raise PermanentError(f"{UPSTREAM}: malformed result ({type(raw).__name__}, not a list)")
        hits: dict[str, WebHit] = {}
        for entry in raw:
            if not isinstance(entry, dict):
                raise PermanentError(f"{UPSTREAM}: malformed result entry ({type(entry).__name__})")
            url = str(entry.get("href") or entry.get("url") or "").strip()
            if not url.startswith(("http://", "https://")) or url in hits:
                continue
            title = one_line(entry.get("title") or "") or urlsplit(url).netloc
            hits[url] = WebHit(title, url, one_line(entry.get("body") or ""))
        return list(hits.values())[: self._max_results]
