"""The vision subagent against a local OpenAI server and a local image host, through the real client."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.openai.client import sdk_client
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.adapters.safe_fetch import FetchedImage, SafeImageFetcher
from eco2.config import Secret, Settings
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.orchestrator import routing
from eco2.ports.subagents import SubagentPort
from eco2.rag.corpus import load_corpus
from eco2.rag.retriever import WasteRetriever
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from eco2.subagents.vision import subagent as vision
from eco2.subagents.vision.openai_vision import CATEGORIES, OpenAIVision
from eco2.subagents.waste_rag import WasteRag
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_openai_images import API_KEY, FakeOpenAIImages
from tests.support.image_server import ImageServer, Route, tiny_png

PNG = tiny_png()


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAIImages]:
    with FakeOpenAIImages() as server:
        yield server


@pytest.fixture
def images() -> Iterator[ImageServer]:
    with ImageServer() as server:
        server.routes["/bottle.png"] = Route(PNG)
        yield server


def make_ctx(
    base_url: str, tmp_path: Path, key: str | None = API_KEY, timeout_s: float = 3.0, breakers: Breakers | None = None
) -> SubagentContext:
    settings = Settings(
        openai_api_key=Secret(key) if key else None,
        openai_base_url=base_url,
        openai_timeout_s=timeout_s,
        state_dir=tmp_path,
    )
    breakers = breakers or Breakers(fail_max=2, reset_timeout_s=0.2)
    return SubagentContext(settings, breakers, NoOpMetricsAdapter())


def subagent(openai_fake: FakeOpenAIImages, tmp_path: Path, **kwargs: Any) -> SubagentPort:
    fetcher = SafeImageFetcher(allow_networks=["127.0.0.1/32"], timeout_s=2.0)
    return vision.build(make_ctx(openai_fake.base_url, tmp_path, **kwargs), images=fetcher)


def query(images: ImageServer, message: str = "이거 어떻게 버려요?") -> SubagentQuery:
    return SubagentQuery("job-1", message, ("waste",), image_url=images.url("/bottle.png"))


def shown_chain(exc: BaseException) -> str:
    """Every exception a logged traceback would show (the cause chain, honouring ``from None``)."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        seen.append(f"{current!r} {current}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n".join(seen)


def test_names_the_item_from_a_data_url_of_the_fetched_bytes(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    result = subagent(openai_fake, tmp_path).run(query(images, "이 병 버리는 법"))
    assert result.status is ResultStatus.OK
    assert result.data["item"] == "페트병"
    assert result.data["confidence"] == 0.92
    assert (result.data["material"], result.data["category"]) == ("플라스틱", "clear_pet")
    assert "'페트병'으로 보여요" in result.summary
    assert "OpenAI" in result.summary
    assert result.sources[0].url.startswith("https://")
    [sent] = openai_fake.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {API_KEY}"
    body = sent["body"]
    assert body["model"] == Settings().openai_vision_model
    assert body["response_format"]["json_schema"]["strict"] is True
    parts = body["messages"][-1]["content"]
    assert "이 병 버리는 법" in parts[0]["text"]
    head, _, data = parts[1]["image_url"]["url"].partition(",")
    assert head == "data:image/png;base64"
    assert base64.b64decode(data) == PNG
    assert images.url("/bottle.png") not in json.dumps(body)  # the model never sees the user's URL
    assert len(images.requests) == 1


def test_the_item_becomes_the_waste_rag_query(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    result = subagent(openai_fake, tmp_path).run(query(images))
    decision = routing.decide(["waste"], {"vision": result}, ["vision"], 1)
    assert decision.hints == {"item": "페트병"}
    follow_up = SubagentQuery("job-1", "이거 어떻게 버려요?", ("waste",), hints=decision.hints)
    rag = WasteRag(WasteRetriever.default()).run(follow_up)
    assert rag.status is ResultStatus.OK
    assert "페트" in rag.summary


def test_low_confidence_is_weak_and_asks_for_the_name(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    openai_fake.vision_answer = {**openai_fake.vision_answer, "confidence": 0.3}
    result = subagent(openai_fake, tmp_path).run(query(images))
    assert result.status is ResultStatus.WEAK
    assert routing.decide(["waste"], {"vision": result}, ["vision"], 1).missing == ["vision"]


def test_no_waste_item_is_empty(openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path) -> None:
    openai_fake.script("empty")
    result = subagent(openai_fake, tmp_path).run(query(images))
    assert result.status is ResultStatus.EMPTY
    assert "고양이" in result.summary
    assert "item" not in result.data


def test_a_refusal_is_empty(openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path) -> None:
    openai_fake.script("refusal")
    result = subagent(openai_fake, tmp_path).run(query(images))
    assert result.status is ResultStatus.EMPTY
    assert result.data["refused"] is True


def test_no_image_is_empty_without_any_call(openai_fake: FakeOpenAIImages, tmp_path: Path) -> None:
    result = subagent(openai_fake, tmp_path).run(SubagentQuery("job-1", "페트병", ("waste",)))
    assert result.status is ResultStatus.EMPTY
    assert openai_fake.requests == []


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("rate_limit", RetryableError, "HTTP 429 rate limited"),
        ("server_error", RetryableError, "HTTP 500"),
        ("overloaded", RetryableError, "HTTP 503"),
        ("quota", PermanentError, "HTTP 429 quota exhausted"),
        ("unauthorized", PermanentError, "HTTP 401"),
        ("forbidden", PermanentError, "HTTP 403"),
        ("malformed", PermanentError, "malformed"),
    ],
)
def test_each_error_form_is_classified(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path, kind: str, error: type[Exception], words: str
) -> None:
    openai_fake.script(kind)
    with pytest.raises(error) as info:
        subagent(openai_fake, tmp_path).run(query(images))
    assert words in str(info.value)
    if error is PermanentError:
        assert not isinstance(info.value, RetryableError)


def test_a_wrong_key_never_appears_in_errors_or_tracebacks(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    secret = "sk-wrong-but-secret-9876543210"
    with pytest.raises(PermanentError) as info:
        subagent(openai_fake, tmp_path, key=secret).run(query(images))
    assert "HTTP 401" in str(info.value)
    assert secret in json.dumps(openai_fake.requests[0]["headers"])  # it was sent, and echoed back by the server
    rendered = shown_chain(info.value)
    assert secret not in rendered


def test_a_slow_model_times_out_as_retryable(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    openai_fake.script("slow")
    openai_fake.slow_s = 3.0
    started = time.monotonic()
    with pytest.raises(RetryableError, match="timed out"):
        subagent(openai_fake, tmp_path, timeout_s=0.3).run(query(images))
    assert time.monotonic() - started < 2.5


def test_breaker_opens_after_repeated_failures_and_closes_after_reset(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    impl = subagent(openai_fake, tmp_path)
    openai_fake.script("server_error", "server_error")
    with pytest.raises(RetryableError):
        impl.run(query(images))
    with pytest.raises(CircuitOpenError):  # pybreaker reports the tripping failure as "open"
        impl.run(query(images))
    calls = len(openai_fake.requests)
    with pytest.raises(CircuitOpenError):
        impl.run(query(images))
    assert len(openai_fake.requests) == calls  # open: the model was not called
    time.sleep(0.25)
    assert impl.run(query(images)).status is ResultStatus.OK


def test_without_a_key_it_is_not_configured_and_touches_nothing(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    impl = vision.build(make_ctx(openai_fake.base_url, tmp_path, key=None))
    with pytest.raises(NotConfiguredError):
        impl.run(query(images))
    result = SubagentRunner({"vision": impl}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "vision", query(images)
    )
    assert result.status is ResultStatus.NOT_CONFIGURED
    assert openai_fake.requests == []
    assert images.requests == []


def run_through_runner(impl: SubagentPort, q: SubagentQuery, final_attempt: bool = True) -> SubagentResult:
    return SubagentRunner({"vision": impl}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "vision", q, final_attempt=final_attempt
    )


def test_runner_sees_ok_failed_and_retry(openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    runner = SubagentRunner(
        {"vision": subagent(openai_fake, tmp_path, breakers=Breakers())},
        MemoryEvents(listener=lambda job, entry: seen.append(entry)),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    ok = runner.run("vision", query(images))
    assert ok.status is ResultStatus.OK
    assert ok.data["item"] == "페트병"
    assert [e.get("status") for e in seen if e["type"] == "stage"] == ["started", "completed"]
    openai_fake.script("rate_limit")
    with pytest.raises(RetryableError):
        runner.run("vision", query(images), attempt=1, final_attempt=False)
    openai_fake.script("rate_limit")
    failed = runner.run("vision", query(images), attempt=2, final_attempt=True)
    assert failed.status is ResultStatus.FAILED
    assert "retries exhausted" in failed.error
    assert API_KEY not in json.dumps(failed.to_dict())


def test_production_fetcher_refuses_a_loopback_image_without_calling_the_model(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    impl = vision.build(make_ctx(openai_fake.base_url, tmp_path))  # no allow-list: loopback is refused
    result = run_through_runner(impl, query(images))
    assert result.status is ResultStatus.FAILED
    assert "blocked_address" in result.error
    assert images.url("/bottle.png") not in result.error
    assert openai_fake.requests == []
    assert images.requests == []


def test_a_non_image_url_fails_without_calling_the_model(
    openai_fake: FakeOpenAIImages, images: ImageServer, tmp_path: Path
) -> None:
    images.routes["/page"] = Route(b"<html></html>", content_type="text/html")
    q = SubagentQuery("job-1", "이거 뭐야", ("waste",), image_url=images.url("/page"))
    result = run_through_runner(subagent(openai_fake, tmp_path), q)
    assert result.status is ResultStatus.FAILED
    assert "content_type" in result.error
    assert openai_fake.requests == []


def test_adapter_clamps_confidence_and_unknown_categories(openai_fake: FakeOpenAIImages, tmp_path: Path) -> None:
    openai_fake.vision_answer = {**openai_fake.vision_answer, "confidence": 7, "category": "spaceship"}
    settings = make_ctx(openai_fake.base_url, tmp_path).settings
    adapter = OpenAIVision(sdk_client(settings, 2.0), "gpt-test", Breakers())
    found = adapter.recognise(FetchedImage(PNG, "image/png"), "")
    assert (found.confidence, found.category) == (1.0, "unknown")


def test_categories_match_the_waste_corpus() -> None:
    corpus = {item.category.id for item in load_corpus()}
    assert set(CATEGORIES) - {"unknown"} == corpus


@pytest.mark.parametrize(
    ("word", "particle"),
    [("페트병", "으로"), ("우유", "로"), ("캔", "으로"), ("유리컵", "으로"), ("물", "로"), ("PET", "(으)로")],
)
def test_particle_fits_the_word(word: str, particle: str) -> None:
    assert vision.particle_ro(word) == particle
