"""The ``web_search`` subagent: what the web says, for questions eco2's own data does not cover.

It is the fallback of ``waste_rag`` (and falls back to ``general`` itself). ``ECO2_WEB_SEARCH`` picks the
backend: ``auto`` (OpenAI's hosted web search when ``OPENAI_API_KEY`` is set, else not configured),
``openai``, ``ddgs`` (metasearch scraping; opt-in because it needs the open internet and no contract
holds it stable) or ``off``. Either way the answer is a Korean summary naming its sources, and
``sources`` carries their URLs into the chat's answer.
"""

from __future__ import annotations

from typing import Any

from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.unavailable import NotConfigured
from eco2.subagents.web_search.ddgs_search import DdgsWebSearch, WebHit
from eco2.subagents.web_search.openai_search import OpenAIWebSearch, WebAnswer
from eco2.subagents.web_search.text import site

NAME = "web_search"
MAX_SHOWN = 3
"""Results listed in the summary; ``sources`` carries up to ``MAX_SOURCES``."""
MAX_SOURCES = 5
MAX_QUERY_CHARS = 200
CAVEAT = "※ 웹 검색 결과라 지역·시점에 따라 다를 수 있어요. 자세한 내용은 출처에서 확인해 주세요."


def search_text(query: SubagentQuery) -> str:
    """What to search for: the message, led by the vision item when the message does not name it."""
    item = query.hints.get("item", "").strip()
    text = " ".join(query.message.split())
    if item and item not in text:
        text = f"{item} {text}"
    return text[:MAX_QUERY_CHARS]


class DdgsSearchSubagent:
    """Implements ``SubagentPort`` for ``web_search`` on ``ddgs`` results."""

    def __init__(self, search: DdgsWebSearch) -> None:
        self._search = search

    def run(self, query: SubagentQuery) -> SubagentResult:
        """List the top results: title, site and one line of each."""
        text = search_text(query)
        hits = self._search.search(text)
        data: dict[str, Any] = {
            "provider": "ddgs",
            "query": text,
            "results": [{"title": h.title, "url": h.url, "snippet": h.snippet} for h in hits],
        }
        if not hits:
            return SubagentResult(NAME, ResultStatus.EMPTY, data=data)
        lines = [f"웹 검색 결과예요 (검색어: {text}, 상위 {min(len(hits), MAX_SHOWN)}건)."]
        lines.extend(_hit_lines(n, hit) for n, hit in enumerate(hits[:MAX_SHOWN], start=1))
        lines.append(CAVEAT)
        return SubagentResult(
            NAME,
            ResultStatus.OK,
            summary="\n".join(lines),
            data=data,
            sources=tuple(Source(h.title, h.url) for h in hits[:MAX_SOURCES]),
        )


def _hit_lines(n: int, hit: WebHit) -> str:
    line = f"{n}. {hit.title} ({hit.domain})"
    return f"{line}\n   {hit.snippet}" if hit.snippet else line


class OpenAISearchSubagent:
    """Implements ``SubagentPort`` for ``web_search`` on OpenAI's hosted web search."""

    def __init__(self, search: OpenAIWebSearch) -> None:
        self._search = search

    def run(self, query: SubagentQuery) -> SubagentResult:
        """The model's summary and the pages it cites; an answer citing nothing is only ``weak``."""
        text = search_text(query)
        answer = self._search.search(text)
        data = _answer_data(text, answer)
        if not answer.text:
            return SubagentResult(NAME, ResultStatus.EMPTY, data=data)
        sources = [Source(c.title, c.url) for c in answer.citations]
        cited = {c.url for c in answer.citations}
        sources.extend(Source(site(url) or url, url) for url in answer.sources if url not in cited)
        if not sources:
            # Nothing to check the answer against: let the fallback chain decide rather than pass it on.
            return SubagentResult(NAME, ResultStatus.WEAK, data=data, error="answer cites no web source")
        lines = ["웹 검색(OpenAI)으로 찾아 요약했어요.", answer.text]
        if answer.citations:
            lines.append("참고한 자료:")
            lines.extend(
                f"{n}. {c.title} ({site(c.url) or c.url})" + (f" — {c.snippet}" if c.snippet else "")
                for n, c in enumerate(answer.citations[:MAX_SHOWN], start=1)
            )
        lines.append(CAVEAT)
        return SubagentResult(
            NAME, ResultStatus.OK, summary="\n".join(lines), data=data, sources=tuple(sources[:MAX_SOURCES])
        )


def _answer_data(text: str, answer: WebAnswer) -> dict[str, Any]:
    return {
        "provider": "openai",
        "query": text,
        "searched": answer.searched,
        "text": answer.text,
        "results": [{"title": c.title, "url": c.url, "snippet": c.snippet} for c in answer.citations],
        "read": list(answer.sources),
    }


def build(ctx: SubagentContext) -> SubagentPort:
    """The backend ``ECO2_WEB_SEARCH`` selects; no I/O (clients are created on first use)."""
    settings = ctx.settings
    mode = settings.web_search
    if mode == "off":
        return NotConfigured(NAME, "web search is off (ECO2_WEB_SEARCH=off)")
    if mode == "ddgs":
        # ddgs waits up to its timeout per wave of engines, and asks at most two waves: fit both in the limit.
        ddgs_timeout_s = max(1.0, min(settings.upstream_timeout_s, (spec_for(NAME).timeout_s - 1.0) / 2))
        return DdgsSearchSubagent(DdgsWebSearch(ctx.breakers, ddgs_timeout_s))
    if settings.openai_api_key is None:
        if mode == "openai":
            return NotConfigured(NAME, "ECO2_WEB_SEARCH=openai needs OPENAI_API_KEY")
        return NotConfigured(NAME, "no OPENAI_API_KEY for web search (or set ECO2_WEB_SEARCH=ddgs)")
    if mode == "auto" and not settings.use_openai:
        return NotConfigured(NAME, "ECO2_LLM_PROVIDER=offline: no OpenAI web search (or set ECO2_WEB_SEARCH=openai)")
    # Leave a second of the task's soft limit to turn a slow answer into a clean retryable timeout.
    timeout_s = max(1.0, min(settings.openai_timeout_s, spec_for(NAME).timeout_s - 1.0))
    search = OpenAIWebSearch(
        settings.openai_api_key, settings.openai_model, ctx.breakers, timeout_s, settings.openai_base_url
    )
    return OpenAISearchSubagent(search)
