"""Web search through OpenAI's Responses API and its hosted ``web_search`` tool.

One request: ``POST /v1/responses`` with ``tools=[{"type": "web_search"}]``; the model searches, reads and
answers. The response's ``output`` holds ``web_search_call`` items (``action.sources`` lists the URLs it
read, when ``include=["web_search_call.action.sources"]`` asks for them) and a ``message`` whose
``output_text`` content carries the answer and ``url_citation`` annotations (``url``, ``title``,
``start_index``/``end_index`` of the citation in the text, which the model writes as a markdown link
right after the sentence it supports).

Errors (the official client's classes, by HTTP status): 401/403/400/404/422 are permanent (a bad key, a model
without web search, a bad parameter); 429 is retryable unless its code is ``insufficient_quota`` (billing:
retrying cannot help); 408/409/5xx, timeouts and connection errors are retryable. The client's own retries
are off: the subagent task retries with backoff, and the breaker must see every failure. Messages never
carry the server's text, which can quote part of the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import openai

from eco2.adapters.openai.errors import translate as translate_openai
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret
from eco2.errors import PermanentError, RetryableError, UpstreamError
from eco2.subagents.web_search.text import one_line

UPSTREAM = "openai_web_search"
"""Breaker and metric label of this upstream."""
INSTRUCTIONS = (
    "너는 한국의 분리배출·재활용 도우미를 위해 웹을 검색하는 역할이야. 질문에 답하는 데 필요한 최신 정보를 "
    "웹에서 찾아 한국어로 3~5문장 이내로 핵심만 요약해. 한국 기관(환경부, 지자체, 한국환경공단)의 자료를 "
    "우선하고, 근거가 된 출처를 인용해."
)
_MD_CITATION = re.compile(r"\s*\(\[([^\]]*)\]\((https?://[^)\s]+)\)\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_SENTENCE_END = re.compile(r"(?:[.!?。]|다\.)\s+|\n")


@dataclass(frozen=True, slots=True)
class Citation:
    """A source the answer cites."""

    title: str
    url: str
    snippet: str
    """The sentence of the answer the source supports (one line)."""


@dataclass(frozen=True, slots=True)
class WebAnswer:
    """The model's answer and what it is grounded on."""

    text: str
    """The answer with the inline markdown citations removed."""
    citations: tuple[Citation, ...]
    sources: tuple[str, ...]
    """URLs the search read (``action.sources``), cited or not."""
    searched: bool
    """Whether the model ran a web search at all."""


def translate(exc: openai.OpenAIError) -> UpstreamError:
    """Map an OpenAI client error to retryable or permanent, without the server's message."""
    return translate_openai(exc, "openai web search")


def clean_url(url: str) -> str:
    """``url`` without tracking parameters (OpenAI appends ``utm_source=openai`` to cited links)."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def clean_text(text: str) -> str:
    """The answer without its inline ``([site](url))`` citations and with markdown links as plain text."""
    return _MD_LINK.sub(r"\1", _MD_CITATION.sub("", text)).strip()


def cited_sentence(text: str, start: int) -> str:
    """The sentence a citation at ``start`` supports: the one that ends where the citation begins."""
    prefix = text[: max(0, min(start, len(text)))].rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(prefix) if m.end() < len(prefix)]
    return one_line(clean_text(prefix[ends[-1] :] if ends else prefix))


def parse_response(response: Any) -> WebAnswer:
    """Read a Responses API ``Response``; a shape that is not one raises ``PermanentError``."""
    status = getattr(response, "status", None)
    if status == "failed":
        error = getattr(response, "error", None)
        code = str(getattr(error, "code", "") or "")
        if code in {"server_error", "rate_limit_exceeded"}:
            raise RetryableError(f"openai web search: response failed ({code})")
        raise PermanentError(f"openai web search: response failed ({code or 'unknown'})")
    output = getattr(response, "output", None)
    if not isinstance(output, list):
        raise PermanentError("openai web search: malformed response (no output list)")
    texts: list[str] = []
    citations: dict[str, Citation] = {}
    sources: list[str] = []
    searched = False
    for item in output:
        kind = getattr(item, "type", None)
        if kind == "web_search_call":
            searched = True
            action = getattr(item, "action", None)
            found = (str(getattr(s, "url", "") or "") for s in getattr(action, "sources", None) or ())
            sources.extend(clean_url(url) for url in found if url)
        elif kind == "message":
            for part in getattr(item, "content", None) or ():
                if getattr(part, "type", None) != "output_text":
                    continue
                text = str(getattr(part, "text", "") or "")
                texts.append(text)
                for note in getattr(part, "annotations", None) or ():
                    url = clean_url(str(getattr(note, "url", "") or ""))
                    if getattr(note, "type", None) != "url_citation" or not url or url in citations:
                        continue
                    title = one_line(str(getattr(note, "title", "") or "")) or url
                    citations[url] = Citation(title, url, cited_sentence(text, int(getattr(note, "start_index", 0))))
    return WebAnswer(
        text=clean_text("\n".join(texts)),
        citations=tuple(citations.values()),
        sources=tuple(dict.fromkeys(sources)),
        searched=searched,
    )


class OpenAIWebSearch:
    """Asks an OpenAI model to search the web and answer in Korean with citations."""

    def __init__(
        self,
        api_key: Secret,
        model: str,
        breakers: Breakers,
        timeout_s: float,
        base_url: str | None = None,
    ) -> None:
        self._api_key = api_key
        self._model = model
        self._breakers = breakers
        self._timeout_s = timeout_s
        self._base_url = base_url
        self._client: openai.OpenAI | None = None

    def search(self, query: str) -> WebAnswer:
        """Search the web for ``query`` and return the model's grounded answer."""
        if not query.strip():
            raise PermanentError("openai web search: empty query")
        return self._breakers.call(UPSTREAM, self._search, query.strip())

    def _openai(self) -> openai.OpenAI:
        if self._client is None:  # built on first use: a factory that never runs does no work
            self._client = openai.OpenAI(
                api_key=self._api_key.reveal(),
                base_url=self._base_url,
                timeout=self._timeout_s,
                max_retries=0,
            )
        return self._client

    def _search(self, query: str) -> WebAnswer:
        try:
            response = self._openai().responses.create(
                model=self._model,
                instructions=INSTRUCTIONS,
                input=query,
                tools=[{"type": "web_search", "user_location": {"type": "approximate", "country": "KR"}}],
                include=["web_search_call.action.sources"],
            )
        except openai.OpenAIError as exc:
            # ``from None``: the client's exception holds the server's message, which may quote the key.
            raise translate(exc) from None
        except ValueError:  # a 2xx body that is not JSON
            raise PermanentError("openai web search: malformed response (not JSON)") from None
        return parse_response(response)
