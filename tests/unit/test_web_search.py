"""The web_search subagent: OpenAI's hosted web search against a local Responses API, and ddgs.

``ddgs`` scrapes live search engines, which this test machine cannot reach, so its adapter is tested with
an injected stand-in for ``DDGS(timeout).text`` that returns what the library returns and raises the
library's own exception classes.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from collections.abc import Iterator
from types import MethodType
from typing import Any

import pytest
from ddgs.ddgs import DDGS
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, SubagentQuery
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from eco2.subagents.unavailable import NotConfigured
from eco2.subagents.web_search import DdgsSearchSubagent, OpenAISearchSubagent, build
from eco2.subagents.web_search.ddgs_search import BACKENDS, DdgsWebSearch, _ddgs_text
from eco2.subagents.web_search.openai_search import OpenAIWebSearch, clean_url
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_openai_responses import FakeResponses

RESULTS = [
    {
        "title": "아이스팩 분리배출 방법 | 환경부",
        "href": "https://www.me.go.kr/ice",
        "body": "젤 타입은\n종량제봉투에 버립니다.",
    },
    {"title": "중복", "href": "https://www.me.go.kr/ice", "body": "같은 주소"},
    {"title": "주소 없음", "href": "", "body": "무시"},
    {"title": "", "href": "https://blog.example.com/a", "body": "가" * 300},
]


def query(message: str = "아이스팩 어떻게 버려?", **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("web_search",), hints=dict(hints))


class FakeDdgs:
    """Stands in for ``DDGS(timeout).text``: scripted outcomes (results or exceptions), calls recorded."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes: deque[object] = deque(outcomes)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.timeouts: list[float] = []

    def factory(self, timeout_s: float) -> Any:
        self.timeouts.append(timeout_s)
        return self.text

    def text(self, query: str, **kwargs: Any) -> object:
        self.calls.append((query, kwargs))
        outcome = self.outcomes.popleft() if self.outcomes else RESULTS
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def ddgs_search(fake: FakeDdgs, breakers: Breakers | None = None) -> DdgsWebSearch:
    return DdgsWebSearch(breakers or Breakers(), timeout_s=5.0, text_search=fake.factory)


@pytest.fixture
def server() -> Iterator[FakeResponses]:
    with FakeResponses() as fake:
        yield fake


def openai_search(server: FakeResponses, breakers: Breakers | None = None, timeout_s: float = 2.0) -> OpenAIWebSearch:
    return OpenAIWebSearch(Secret(server.api_key), "gpt-4o-mini", breakers or Breakers(), timeout_s, server.base_url)


def context(env: dict[str, str]) -> SubagentContext:
    return SubagentContext(Settings.from_env(env), Breakers(), NoOpMetricsAdapter())


# --- ddgs -------------------------------------------------------------------------------------------------


def test_installed_ddgs_has_the_exception_classes_the_adapter_maps() -> None:
    assert issubclass(RatelimitException, DDGSException)
    assert issubclass(TimeoutException, DDGSException)
    text = _ddgs_text(5.0)  # builds the real client without a request
    assert isinstance(text, MethodType)
    assert isinstance(text.__self__, DDGS)
    assert text.__self__._timeout == 5


def test_the_engines_asked_exist_in_the_installed_ddgs() -> None:
    from ddgs.engines import ENGINES

    assert set(BACKENDS.split(",")) <= set(ENGINES["text"])


def test_ddgs_results_become_korean_summary_and_sources() -> None:
    fake = FakeDdgs()
    result = DdgsSearchSubagent(ddgs_search(fake)).run(query(item="아이스팩", message="이거 어떻게 버려?"))
    assert result.status is ResultStatus.OK
    assert fake.calls == [
        (
            "아이스팩 이거 어떻게 버려?",
            {"region": "kr-kr", "safesearch": "moderate", "max_results": 5, "backend": "duckduckgo,brave,yahoo"},
        )
    ]
    assert [s.url for s in result.sources] == ["https://www.me.go.kr/ice", "https://blog.example.com/a"]
    assert "1. 아이스팩 분리배출 방법 | 환경부 (me.go.kr)" in result.summary
    assert "젤 타입은 종량제봉투에 버립니다." in result.summary  # one line
    assert "2. blog.example.com (blog.example.com)" in result.summary  # no title: the host
    assert max(len(line) for line in result.summary.splitlines()) < 140  # long snippets are cut
    assert result.data["provider"] == "ddgs"


def test_ddgs_no_results_is_an_empty_result() -> None:
    fake = FakeDdgs(DDGSException("No results found."))
    result = DdgsSearchSubagent(ddgs_search(fake)).run(query())
    assert result.status is ResultStatus.EMPTY
    assert result.sources == ()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RatelimitException("202 Ratelimit"), RetryableError),
        (TimeoutException("https://html.duckduckgo.com/html timed out"), RetryableError),
        (DDGSException("ConnectError: error sending request"), RetryableError),
        (DDGSException("query is mandatory."), PermanentError),
    ],
)
def test_ddgs_errors_are_translated(exc: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected) as info:
        ddgs_search(FakeDdgs(exc)).search("아이스팩")
    assert info.value.__cause__ is exc


@pytest.mark.parametrize("malformed", [{"title": "a dict, not a list"}, ["a string entry"], "text"])
def test_ddgs_malformed_results_are_permanent(malformed: object) -> None:
    with pytest.raises(PermanentError, match="malformed"):
        ddgs_search(FakeDdgs(malformed)).search("아이스팩")


def test_ddgs_empty_query_is_refused_without_a_call() -> None:
    fake = FakeDdgs()
    with pytest.raises(PermanentError):
        ddgs_search(fake).search("   ")
    assert fake.calls == []


def test_ddgs_breaker_opens_after_retryable_failures_and_closes_after_reset() -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    fake = FakeDdgs(TimeoutException("timed out"), TimeoutException("timed out"))
    search = ddgs_search(fake, breakers)
    with pytest.raises(RetryableError):
        search.search("아이스팩")
    with pytest.raises(CircuitOpenError):  # pybreaker reports the tripping failure as "open"
        search.search("아이스팩")
    with pytest.raises(CircuitOpenError):
        search.search("아이스팩")
    assert len(fake.calls) == 2  # the open breaker did not call ddgs
    assert breakers.state("ddgs") == "open"
    time.sleep(0.25)
    assert search.search("아이스팩")
    assert breakers.state("ddgs") == "closed"


def test_ddgs_no_results_do_not_count_against_the_breaker() -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=30)
    fake = FakeDdgs(*(DDGSException("No results found.") for _ in range(3)))
    for _ in range(3):
        assert ddgs_search(fake, breakers).search("아무것도") == []
    assert breakers.state("ddgs") == "closed"


# --- OpenAI Responses API -----------------------------------------------------------------------------------


def test_openai_answer_with_citations(server: FakeResponses) -> None:
    result = OpenAISearchSubagent(openai_search(server)).run(query(item="아이스팩", message="이거 어떻게 버려?"))
    assert result.status is ResultStatus.OK
    sent = server.requests[0]
    assert sent["path"] == "/v1/responses"
    assert sent["headers"]["authorization"] == f"Bearer {server.api_key}"
    body = sent["body"]
    assert body["model"] == "gpt-4o-mini"
    assert body["input"] == "아이스팩 이거 어떻게 버려?"
    assert body["tools"][0]["type"] == "web_search"
    assert body["include"] == ["web_search_call.action.sources"]
    assert "([" not in result.summary  # inline markdown citations are removed
    assert "1. 환경부 분리배출 안내 (me.go.kr) — " in result.summary
    assert "지자체마다 수거 요일과 배출 방법이 조금씩 다릅니다." in result.summary
    urls = [s.url for s in result.sources]
    assert urls[:3] == [
        "https://www.me.go.kr/home/web/main.do",
        "https://www.recycling-info.or.kr/",
        "https://news.seoul.go.kr/env/archives/1",
    ]
    assert urls[3] == "https://www.keco.or.kr/"  # read by the search, not cited
    assert result.data["searched"] is True


def test_openai_answer_without_message_is_empty(server: FakeResponses) -> None:
    server.script("empty")
    assert OpenAISearchSubagent(openai_search(server)).run(query()).status is ResultStatus.EMPTY


def test_openai_answer_without_sources_is_weak(server: FakeResponses) -> None:
    server.script("uncited")
    result = OpenAISearchSubagent(openai_search(server)).run(query())
    assert result.status is ResultStatus.WEAK
    assert result.summary == ""


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("http:400:invalid_value", PermanentError),
        ("http:403", PermanentError),
        ("http:404:model_not_found", PermanentError),
        ("http:429:rate_limit_exceeded", RetryableError),
        ("http:429:insufficient_quota", PermanentError),
        ("http:500", RetryableError),
        ("http:503", RetryableError),
        ("failed", RetryableError),
        ("not_json", PermanentError),
        ("no_output", PermanentError),
    ],
)
def test_openai_error_forms_are_translated(server: FakeResponses, behaviour: str, expected: type[Exception]) -> None:
    server.script(behaviour)
    with pytest.raises(expected):
        openai_search(server).search("아이스팩")
    assert len(server.requests) == 1  # the client does not retry on its own


def test_openai_invalid_key_is_permanent_and_never_shown(server: FakeResponses) -> None:
    key = "sk-wrong-key-never-shown-1234"
    search = OpenAIWebSearch(Secret(key), "gpt-4o-mini", Breakers(), 2.0, server.base_url)
    with pytest.raises(PermanentError) as info:
        search.search("아이스팩")
    text = "".join(traceback.format_exception(info.value))
    assert "401" in str(info.value)
    assert key not in text
    assert key[-4:] not in text  # not even the masked tail the server quotes


def test_openai_timeout_is_retryable(server: FakeResponses) -> None:
    server.script("slow:1.5")
    started = time.monotonic()
    with pytest.raises(RetryableError, match="timed out"):
        openai_search(server, timeout_s=0.3).search("아이스팩")
    assert time.monotonic() - started < 1.2


def test_openai_connection_refused_is_retryable() -> None:
    with FakeResponses() as closed:
        base_url = closed.base_url
    search = OpenAIWebSearch(Secret("sk-test"), "gpt-4o-mini", Breakers(), 1.0, base_url)
    with pytest.raises(RetryableError, match="connection"):
        search.search("아이스팩")


def test_openai_breaker_opens_after_retryable_failures_and_closes_after_reset(server: FakeResponses) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    search = openai_search(server, breakers)
    server.script("http:500", "http:503")
    with pytest.raises(RetryableError):
        search.search("아이스팩")
    with pytest.raises(CircuitOpenError):  # pybreaker reports the tripping failure as "open"
        search.search("아이스팩")
    with pytest.raises(CircuitOpenError):
        search.search("아이스팩")
    assert len(server.requests) == 2
    time.sleep(0.25)
    assert search.search("아이스팩").citations
    assert breakers.state("openai_web_search") == "closed"


def test_openai_permanent_errors_do_not_open_the_breaker(server: FakeResponses) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=30)
    server.script("http:400", "http:400", "http:400")
    for _ in range(3):
        with pytest.raises(PermanentError):
            openai_search(server, breakers).search("아이스팩")
    assert breakers.state("openai_web_search") == "closed"


def test_cited_urls_lose_tracking_parameters() -> None:
    assert clean_url("https://a.kr/p?id=3&utm_source=openai") == "https://a.kr/p?id=3"


# --- choosing the backend -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, NotConfigured),
        ({"ECO2_WEB_SEARCH": "openai"}, NotConfigured),
        ({"ECO2_WEB_SEARCH": "off", "OPENAI_API_KEY": "sk-x"}, NotConfigured),
        ({"OPENAI_API_KEY": "sk-x"}, OpenAISearchSubagent),
        ({"ECO2_WEB_SEARCH": "openai", "OPENAI_API_KEY": "sk-x"}, OpenAISearchSubagent),
        ({"ECO2_WEB_SEARCH": "ddgs"}, DdgsSearchSubagent),
    ],
)
def test_backend_follows_settings(env: dict[str, str], kind: type) -> None:
    assert isinstance(build(context(env)), kind)


def test_ddgs_timeout_fits_two_engine_waves_in_the_task_limit() -> None:
    subagent = build(context({"ECO2_WEB_SEARCH": "ddgs", "ECO2_UPSTREAM_TIMEOUT_S": "600"}))
    assert isinstance(subagent, DdgsSearchSubagent)
    limit = spec_for("web_search").timeout_s
    assert subagent._search._timeout_s == (limit - 1) / 2  # two waves fit in the task's soft limit


def test_without_a_key_it_is_not_configured_and_calls_nothing(server: FakeResponses) -> None:
    subagent = build(context({"OPENAI_BASE_URL": server.base_url}))
    with pytest.raises(NotConfiguredError, match="OPENAI_API_KEY"):
        subagent.run(query())
    assert server.requests == []


# --- through the runner -------------------------------------------------------------------------------------


def run_through_runner(subagent: Any, final_attempt: bool = True) -> tuple[Any, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []
    events = MemoryEvents(lambda _job, entry: seen.append(entry))
    runner = SubagentRunner({"web_search": subagent}, events, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)
    result = runner.run("web_search", query(), final_attempt=final_attempt)
    return result, [e for e in seen if e["type"] == "stage"]


def test_runner_sees_ok_with_sources(server: FakeResponses) -> None:
    env = {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url}
    result, stages = run_through_runner(build(context(env)))
    assert result.status is ResultStatus.OK
    assert result.sources
    assert [s["status"] for s in stages] == ["started", "completed"]


def test_runner_sees_not_configured_as_skipped() -> None:
    result, stages = run_through_runner(build(context({})))
    assert result.status is ResultStatus.NOT_CONFIGURED
    assert stages[-1]["status"] == "skipped"


def test_runner_retries_then_fails_without_leaking_the_key(server: FakeResponses) -> None:
    env = {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url}
    subagent = build(context(env))
    server.script("http:503", "http:503")
    with pytest.raises(RetryableError):
        run_through_runner(subagent, final_attempt=False)
    result, stages = run_through_runner(subagent, final_attempt=True)
    assert result.status is ResultStatus.FAILED
    assert result.error.startswith("retries exhausted")
    assert server.api_key not in result.error
    assert stages[-1]["status"] == "failed"


def test_runner_sees_ddgs_results_as_ok() -> None:
    result, _ = run_through_runner(DdgsSearchSubagent(ddgs_search(FakeDdgs())))
    assert result.status is ResultStatus.OK
    assert result.sources[0].url == "https://www.me.go.kr/ice"
