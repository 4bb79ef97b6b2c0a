"""The image_generation subagent against a local OpenAI images server, through the real client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.openai.client import sdk_client
from eco2.adapters.openai.errors import ContentPolicyError
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.subagents import ResultStatus, SubagentQuery
from eco2.errors import PermanentError, RetryableError
from eco2.orchestrator.outcome import extras
from eco2.ports.subagents import SubagentPort
from eco2.subagents import image_generation
from eco2.subagents.context import SubagentContext
from eco2.subagents.image_generation import ImageFiles, build_prompt
from eco2.subagents.image_generation.openai_images import OpenAIImages
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_openai_images import API_KEY, FakeOpenAIImages
from tests.support.image_server import tiny_png


@pytest.fixture
def fake() -> Iterator[FakeOpenAIImages]:
    with FakeOpenAIImages() as server:
        yield server


def settings(fake: FakeOpenAIImages, tmp_path: Path, key: str | None = API_KEY) -> Settings:
    return Settings(openai_api_key=Secret(key) if key else None, openai_base_url=fake.base_url, state_dir=tmp_path)


def build(fake: FakeOpenAIImages, tmp_path: Path, key: str | None = API_KEY, **breaker: float) -> SubagentPort:
    breakers = Breakers(fail_max=int(breaker.get("fail_max", 2)), reset_timeout_s=breaker.get("reset_s", 0.2))
    return image_generation.build(SubagentContext(settings(fake, tmp_path, key), breakers, NoOpMetricsAdapter()))


def ask(message: str = "분리수거 포스터 그려줘", **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("image_generation",), hints=hints)


def shown_chain(exc: BaseException) -> str:
    """Every exception a logged traceback would show (the cause chain, honouring ``from None``)."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        seen.append(f"{current!r} {current}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n".join(seen)


def test_a_url_answer_goes_into_the_done_event(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    result = build(fake, tmp_path).run(ask())
    assert result.status is ResultStatus.OK
    assert result.data["kind"] == "url"
    assert result.data["url"].startswith("https://")
    assert result.data["url"] in result.summary
    assert result.data["revised_prompt"] == "A friendly recycling poster"
    assert result.sources[0].url == result.data["url"]
    assert extras({"image_generation": result}) == {"image": result.data}
    [sent] = fake.requests
    assert sent["path"] == "/v1/images/generations"
    assert sent["headers"]["authorization"] == f"Bearer {API_KEY}"
    body = sent["body"]
    assert body["model"] == Settings().openai_image_model
    assert (body["n"], body["size"]) == (1, "1024x1536")  # a poster is portrait
    assert "분리수거 포스터" in body["prompt"]
    assert "Hangul" in body["prompt"]


def test_a_b64_answer_is_stored_under_the_state_dir(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    fake.image_mode = "b64"
    result = build(fake, tmp_path).run(ask("페트병 캐릭터 그려줘"))
    assert result.status is ResultStatus.OK
    data = result.data
    assert data["kind"] == "file"
    assert data["ref"].startswith("eco2-image://")
    assert data["ref"].endswith(".png")
    path = Path(data["path"])
    assert path.parent == tmp_path / "images"
    assert path.read_bytes() == tiny_png()
    assert data["bytes"] == len(tiny_png())
    assert data["media_type"] == "image/png"
    assert ImageFiles(tmp_path / "images").resolve(data["ref"]) == path
    assert list((tmp_path / "images").glob(".*.tmp")) == []
    assert str(path) not in result.summary  # the user sees no server paths
    json.dumps(result.to_dict())  # crosses Celery as JSON


def test_no_image_in_the_answer_is_empty(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    fake.script("empty")
    assert build(fake, tmp_path).run(ask()).status is ResultStatus.EMPTY


def test_b64_that_does_not_decode_is_permanent(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    fake.script("not_base64")
    with pytest.raises(PermanentError, match="not base64"):
        build(fake, tmp_path).run(ask())
    assert not (tmp_path / "images").exists()


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("rate_limit", RetryableError, "HTTP 429"),
        ("server_error", RetryableError, "HTTP 500"),
        ("overloaded", RetryableError, "HTTP 503"),
        ("content_policy", ContentPolicyError, "content policy"),
        ("quota", PermanentError, "quota exhausted"),
        ("unauthorized", PermanentError, "HTTP 401"),
        ("forbidden", PermanentError, "HTTP 403"),
        ("malformed", PermanentError, "malformed"),
    ],
)
def test_each_error_form_is_classified(
    fake: FakeOpenAIImages, tmp_path: Path, kind: str, error: type[Exception], words: str
) -> None:
    fake.script(kind)
    with pytest.raises(error) as info:
        build(fake, tmp_path).run(ask())
    assert words in str(info.value)
    if not issubclass(error, RetryableError):
        assert not isinstance(info.value, RetryableError)


def test_a_content_policy_rejection_does_not_echo_the_prompt(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    fake.script("content_policy")
    with pytest.raises(ContentPolicyError) as info:
        build(fake, tmp_path).run(ask("아주 특이한 요청 문구 포스터 그려줘"))
    rendered = shown_chain(info.value)
    assert "특이한" not in rendered
    assert "safety system" not in rendered


def test_a_wrong_key_never_appears_in_errors(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    secret = "sk-wrong-but-secret-1234567890"
    with pytest.raises(PermanentError) as info:
        build(fake, tmp_path, key=secret).run(ask())
    rendered = shown_chain(info.value)
    assert secret not in rendered
    result = SubagentRunner(
        {"image_generation": build(fake, tmp_path, key=secret)},
        MemoryEvents(),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    ).run("image_generation", ask())
    assert result.status is ResultStatus.FAILED
    assert secret not in json.dumps(result.to_dict())


def test_a_slow_server_times_out_as_retryable(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    fake.script("slow")
    fake.slow_s = 3.0
    adapter = OpenAIImages(sdk_client(settings(fake, tmp_path), 0.3), "gpt-image-test", Breakers())
    started = time.monotonic()
    with pytest.raises(RetryableError, match="timed out"):
        adapter.generate("재활용 포스터")
    assert time.monotonic() - started < 2.5


def test_breaker_opens_after_repeated_failures_and_closes_after_reset(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    impl = build(fake, tmp_path)
    fake.script("server_error", "server_error")
    with pytest.raises(RetryableError):
        impl.run(ask())
    with pytest.raises(CircuitOpenError):  # pybreaker reports the tripping failure as "open"
        impl.run(ask())
    calls = len(fake.requests)
    with pytest.raises(CircuitOpenError):
        impl.run(ask())
    assert len(fake.requests) == calls
    time.sleep(0.25)
    assert impl.run(ask()).status is ResultStatus.OK


def test_a_content_policy_rejection_does_not_open_the_breaker(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    impl = build(fake, tmp_path)
    fake.script("content_policy", "content_policy", "content_policy")
    for _ in range(3):
        with pytest.raises(ContentPolicyError):
            impl.run(ask())
    assert impl.run(ask()).status is ResultStatus.OK


def test_without_a_key_it_names_the_key_and_touches_nothing(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    # Issue 14: the answer says which key enables image generation (empty: there is no image for `done`).
    impl = build(fake, tmp_path, key=None)
    result = SubagentRunner(
        {"image_generation": impl}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY
    ).run("image_generation", ask())
    assert result.status is ResultStatus.EMPTY
    assert "OPENAI_API_KEY" in result.summary
    assert extras({"image_generation": result}) == {}
    assert fake.requests == []
    assert not (tmp_path / "images").exists()


def test_runner_sees_ok_and_retry(fake: FakeOpenAIImages, tmp_path: Path) -> None:
    runner = SubagentRunner(
        {"image_generation": build(fake, tmp_path, fail_max=5)},
        MemoryEvents(),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    assert runner.run("image_generation", ask()).status is ResultStatus.OK
    fake.script("rate_limit", "rate_limit")
    with pytest.raises(RetryableError):
        runner.run("image_generation", ask(), attempt=1, final_attempt=False)
    failed = runner.run("image_generation", ask(), attempt=2, final_attempt=True)
    assert failed.status is ResultStatus.FAILED
    assert "retries exhausted" in failed.error


@pytest.mark.parametrize(
    ("message", "style", "size"),
    [
        ("분리수거 포스터 그려줘", "poster", "1024x1536"),
        ("페트병 캐릭터 그림 만들어 주세요", "character", "1024x1024"),
        ("재활용 네컷 만화 그려줘", "comic", "1024x1536"),
        ("우유팩 스티커 만들어줘", "sticker", "1024x1024"),
        ("캔 버리는 방법 인포그래픽 만들어줘!", "infographic", "1024x1536"),
        ("지구를 지키는 고양이 그려줘~", "illustration", "1024x1024"),
    ],
)
def test_prompt_style_follows_the_request(message: str, style: str, size: str) -> None:
    prompt = build_prompt(message)
    assert (prompt.style.id, prompt.style.size) == (style, size)
    assert "그려" not in prompt.subject
    assert "만들어" not in prompt.subject
    assert f'"{prompt.subject}"' in prompt.text


def test_prompt_keeps_korean_and_uses_the_vision_item() -> None:
    prompt = build_prompt("이걸로 포스터 그려줘", item="페트병")
    assert '"페트병"' in prompt.text
    assert "Korean (Hangul)" in prompt.text
    assert build_prompt("그려줘").subject == "분리배출과 재활용"
    assert len(build_prompt("가" * 5000).subject) == 300


@pytest.mark.parametrize(
    "ref", ["eco2-image://../secret.png", "eco2-image://a/b.png", "eco2-image://", "file:///x.png"]
)
def test_image_references_cannot_escape_the_folder(tmp_path: Path, ref: str) -> None:
    with pytest.raises(ValueError, match="not an eco2 image reference"):
        ImageFiles(tmp_path).resolve(ref)
