"""Without upstream keys the subagents still say what is known, and which setting enables the rest (issue 14).

The real subagents are built from settings without any key (no fake servers: nothing may be called), run
through the runner, routed by ``decide`` and written by the offline composer, as in a keyless deployment.
"""

from __future__ import annotations

import json

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.offline.composer import compose
from eco2.adapters.resilience.breakers import Breakers
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.orchestrator.routing import decide, plan_for
from eco2.ports.llm import AnswerInput
from eco2.subagents.catalog import build_subagents
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY

NOT_CONNECTED = "아직 연결되지 않았어요"


@pytest.fixture
def runner() -> SubagentRunner:
    ctx = SubagentContext(Settings(kakao_base_url="http://127.0.0.1:9"), Breakers(), NoOpMetricsAdapter())
    return SubagentRunner(build_subagents(ctx), MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)


def answer(
    runner: SubagentRunner, intent: str, message: str, where: GeoPoint | None = None
) -> tuple[str, dict[str, SubagentResult]]:
    """The offline composer's answer to ``message`` with every subagent of ``intent``'s plan."""
    names = plan_for([intent])
    query = SubagentQuery("job-1", message, (intent,), user_location=where)
    results = {name: runner.run(name, query) for name in names}
    decision = decide([intent], results, names, 1)
    assert decision.next_round == [], decision  # an answer from what is known: no fallback round
    text = compose(AnswerInput(message, (intent,), tuple(results.values()), missing=tuple(decision.missing)))
    return text, results


def test_bulk_waste_gives_the_typical_fee_how_to_apply_and_the_key(runner: SubagentRunner) -> None:
    text, results = answer(runner, "bulk_waste", "소파 버리는 데 얼마야?")

    assert results["bulk_waste"].status is ResultStatus.OK
    assert results["bulk_waste"].data["source"] == "typical"
    assert results["weather"].status is ResultStatus.NOT_CONFIGURED  # an enrichment adds no key sentence
    assert "소파 수수료(전국 일반 범위, 대략): 1인용 약 3,000~7,000원" in text
    assert "3인용 약 7,000~14,000원" in text
    for caveat in ("지역마다 다르고", "참고용"):
        assert caveat in text
    for how in ("구청·주민센터", "대형폐기물 신고", "스티커"):  # how to apply
        assert how in text
    assert "DATA_GO_KR_SERVICE_KEY" in text
    assert NOT_CONNECTED not in text


def test_bulk_waste_shows_a_known_districts_page_and_posted_fee(runner: SubagentRunner) -> None:
    text, results = answer(runner, "bulk_waste", "강남구 의자 버리려면?")

    assert "[서울특별시 강남구 대형폐기물 배출 안내(일반 안내)]" in text
    assert "의자 수수료(2026-07-02 기준 강남구 게시 금액): 1인용 2,000원" in text
    assert "https://clean.gangnam.go.kr/use/biwa/USEBIWA02010000.do" in text
    assert results["bulk_waste"].data["district"] == "서울특별시 강남구"
    assert any("강남구" in s.title for s in results["bulk_waste"].sources)


def test_a_large_appliance_points_to_the_free_pickup(runner: SubagentRunner) -> None:
    text, _ = answer(runner, "bulk_waste", "냉장고 버리는 법")

    assert "1599-0903" in text
    assert "무상방문수거" in text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("폐의약품 어디에 버려?", "약국·보건소·주민센터의 폐의약품 수거함"),
        ("폐건전지 수거함 어디야?", "주민센터와 아파트 단지의 폐건전지·폐형광등 수거함"),
        ("폐휴대폰 버리는 곳", "주민센터 수거함이나 휴대폰 대리점"),
        ("헌옷 어디에 버려?", "의류수거함"),
    ],
)
def test_collection_point_says_where_the_kind_usually_goes_and_the_key(
    runner: SubagentRunner, message: str, expected: str
) -> None:
    text, results = answer(runner, "collection_point", message, GeoPoint(37.5006, 127.0364))

    assert results["collection_point"].status is ResultStatus.OK
    assert results["collection_point"].data["source"] == "typical"
    assert expected in text
    assert "KECO_API_KEY" in text
    assert NOT_CONNECTED not in text


def test_collection_point_without_a_kind_lists_every_kind(runner: SubagentRunner) -> None:
    text, _ = answer(runner, "collection_point", "강남구 수거함 어디 있어?")

    for label in ("폐휴대폰", "폐건전지", "폐형광등", "폐의약품", "의류"):
        assert f"- {label}:" in text
    assert "강남구청이나 주민센터" in text


def test_weather_names_the_key_and_where_to_look_meanwhile(runner: SubagentRunner) -> None:
    text, results = answer(runner, "weather", "오늘 날씨 어때?")

    assert results["weather"].data == {"source": "not_configured", "setting": "DATA_GO_KR_SERVICE_KEY"}
    assert "DATA_GO_KR_SERVICE_KEY" in text
    assert "https://www.weather.go.kr" in text
    assert NOT_CONNECTED not in text


def test_image_generation_names_the_key(runner: SubagentRunner) -> None:
    text, results = answer(runner, "image_generation", "분리수거 포스터 그려줘")

    assert results["image_generation"].status is ResultStatus.EMPTY
    assert "OPENAI_API_KEY" in text
    assert NOT_CONNECTED not in text


@pytest.mark.parametrize(
    ("message", "intent", "status", "words"),
    [
        ("소파 버리는 방법 알려줘", "bulk_waste", "ok", ("약 7,000~14,000원", "스티커", "DATA_GO_KR_SERVICE_KEY")),
        ("폐건전지 수거함 어디 있어?", "collection_point", "ok", ("주민센터", "KECO_API_KEY")),
        ("오늘 날씨 어때?", "weather", "not_configured", ("DATA_GO_KR_SERVICE_KEY", "weather.go.kr")),
        ("분리수거 포스터 그려줘", "image_generation", "empty", ("OPENAI_API_KEY",)),
    ],
)
def test_a_keyless_chat_answers_with_what_is_known(
    message: str, intent: str, status: str, words: tuple[str, ...]
) -> None:
    container, events = bootstrap_inline(Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}))
    assert container.service.accept((), {"job_id": "j1", "message": message}) == "started"

    last = [fields for _id, fields in events.follow("j1", timeout_s=5)][-1]
    assert last["type"] == "done", last
    data = json.loads(last["data"])
    assert data["intent"] == intent
    assert data["subagents"][intent] == status
    for word in words:
        assert word in data["answer"]
    assert NOT_CONNECTED not in data["answer"]
    assert "image" not in data
