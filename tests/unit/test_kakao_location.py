"""The ``location`` subagent and the Kakao Local client, against a local fake of ``dapi.kakao.com``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from eco2.adapters.kakao.client import KakaoLocal
from eco2.adapters.kakao.responses import error_for
from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.ports.subagents import SubagentPort
from eco2.subagents import location
from eco2.subagents.context import SubagentContext
from eco2.subagents.location.query import parse_message
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_kakao import (
    CITY_HALL,
    ERRORS,
    GANGNAM_STATION,
    KEY,
    MALFORMED,
    OPEN_SEA,
    WRONG_SHAPE,
    FakeKakao,
    Reply,
)

GANGNAM = GeoPoint(*GANGNAM_STATION)


@pytest.fixture
def kakao() -> Iterator[FakeKakao]:
    with FakeKakao() as server:
        yield server


def context(kakao: FakeKakao, key: str | None = KEY, timeout_s: float = 2.0, fail_max: int = 2) -> SubagentContext:
    settings = Settings(
        kakao_api_key=Secret(key) if key is not None else None,
        kakao_base_url=kakao.base_url,
        upstream_timeout_s=timeout_s,
    )
    return SubagentContext(settings, Breakers(fail_max=fail_max, reset_timeout_s=0.2), NoOpMetricsAdapter())


def ask(message: str, where: GeoPoint | None = None, **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("location",), user_location=where, hints=hints)


def run_through_runner(subagent: SubagentPort, query: SubagentQuery) -> tuple[ResultStatus, list[dict[str, str]]]:
    entries: list[dict[str, str]] = []
    events = MemoryEvents(listener=lambda job_id, entry: entries.append(dict(entry)))
    result = SubagentRunner({"location": subagent}, events, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "location", query
    )
    return result.status, entries


def test_nearby_search_sends_kakao_params_and_lists_nearest_places(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("근처 재활용센터 어디야?", GANGNAM))

    assert result.status is ResultStatus.OK
    (request,) = kakao.requests
    assert request["path"] == "/v2/local/search/keyword.json"
    assert request["headers"]["Authorization"] == f"KakaoAK {KEY}"
    params = request["params"]
    assert params["query"] == "재활용센터"
    assert (float(params["x"]), float(params["y"])) == pytest.approx((GANGNAM.longitude, GANGNAM.latitude))
    assert (params["radius"], params["sort"]) == ("5000", "distance")
    names = [p["name"] for p in result.data["places"]]
    assert names == ["강남구재활용센터", "역삼재활용센터", "서초재활용센터"]
    distances = [p["distance_m"] for p in result.data["places"]]
    assert distances == sorted(distances)
    summary = result.summary
    assert "강남구재활용센터 (약 240m)" in summary
    assert "서울 강남구 테헤란로 101" in summary
    assert "☎ 02-555-1234" in summary
    assert "http://place.map.kakao.com/1001" in summary
    assert "서초재활용센터 (약 1.7km)" in summary
    assert "카카오" in summary.splitlines()[-1]  # states where the data comes from
    urls = [s.url for s in result.sources]
    assert "http://place.map.kakao.com/1001" in urls
    assert urls[-1].startswith("https://map.kakao.com/link/search/")


def test_named_place_is_searched_by_keyword_without_a_radius(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("강남역 재활용센터 알려줘"))

    assert result.status is ResultStatus.OK
    params = kakao.requests[0]["params"]
    assert params["query"] == "강남역 재활용센터"
    assert {"x", "y", "radius"}.isdisjoint(params)
    assert params["sort"] == "accuracy"
    assert result.data["center"] == "region"
    assert "'강남역 재활용센터'로 검색한" in result.summary


def test_named_place_with_user_location_keeps_distances_from_the_user(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("강남역 재활용센터", GeoPoint(*CITY_HALL)))

    params = kakao.requests[0]["params"]
    assert params["query"] == "강남역 재활용센터"
    assert "x" in params
    assert "radius" not in params
    assert "현재 위치에서 약 8.8km" in result.summary


def test_without_location_or_place_it_asks_where_and_calls_nothing(kakao: FakeKakao) -> None:
    subagent = location.build(context(kakao))
    result = subagent.run(ask("근처 재활용센터 어디야?"))

    assert result.status is ResultStatus.NEEDS_INPUT
    assert result.data["field"] == "location"
    assert "어느 지역" in result.data["prompt"]
    assert result.data["prompt"] in result.summary
    assert kakao.requests == []


def test_runner_writes_the_needs_input_event(kakao: FakeKakao) -> None:
    status, entries = run_through_runner(location.build(context(kakao)), ask("리필스테이션 가까운 데 있어?"))

    assert status is ResultStatus.NEEDS_INPUT
    (needs,) = [e for e in entries if e["type"] == "needs_input"]
    data = json.loads(needs["data"])
    assert data["subagent"] == "location"
    assert data["field"] == "location"
    assert "리필스테이션" in data["prompt"]
    assert [(e["stage"], e["status"]) for e in entries if e["type"] == "stage"] == [
        ("location", "started"),
        ("location", "completed"),
    ]


def test_nothing_within_5km_widens_the_search_to_20km(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("근처 재활용센터", GeoPoint(*CITY_HALL)))

    assert [r["params"]["radius"] for r in kakao.requests] == ["5000", "20000"]
    assert result.status is ResultStatus.OK
    assert result.data["radius_m"] == 20_000
    assert "20km까지 넓혔어요" in result.summary


def test_empty_result_is_reported_as_empty_with_a_helpful_summary(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("근처 재활용센터", GeoPoint(*OPEN_SEA)))

    assert result.status is ResultStatus.EMPTY
    assert result.data["places"] == []
    assert "찾지 못했어요" in result.summary
    assert len(kakao.requests) == 2


def test_scripted_empty_page_is_empty(kakao: FakeKakao) -> None:
    empty = Reply(200, {"meta": {"total_count": 0, "pageable_count": 0, "is_end": True}, "documents": []})
    kakao.script(empty)

    result = location.build(context(kakao)).run(ask("강남역 고물상"))

    assert result.status is ResultStatus.EMPTY


def test_ambiguous_region_names_the_region_kakao_chose(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("중앙동 재활용센터 영업시간"))

    assert result.status is ResultStatus.OK
    assert result.data["same_name"]["selected_region"] == "부산 중구 중앙동"
    assert "'중앙동'이 여러 곳에 있어 '부산 중구 중앙동' 기준으로" in result.summary
    assert "경기 안산시 단원구 중앙동" in result.summary
    assert "영업시간" in result.summary  # Kakao Local has no opening hours: the summary says where to look


def test_waste_medicine_near_user_uses_the_pharmacy_category(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("폐의약품 버릴 곳 근처에 있어?", GANGNAM))

    request = kakao.requests[0]
    assert request["path"] == "/v2/local/search/category.json"
    assert request["params"]["category_group_code"] == "PM9"
    assert result.data["places"][0]["name"] == "강남역약국"
    assert "폐의약품" in result.summary


def test_batteries_map_to_community_centres_filtered_to_public_offices(kakao: FakeKakao) -> None:
    result = location.build(context(kakao)).run(ask("폐건전지 어디에 버려? 역삼동이야"))

    params = kakao.requests[0]["params"]
    assert params["query"] == "역삼동 행정복지센터"
    assert params["category_group_code"] == "PO3"
    assert result.data["places"][0]["name"] == "역삼1동행정복지센터"
    assert "폐건전지" in result.summary


def test_item_from_an_earlier_round_picks_the_place(kakao: FakeKakao) -> None:
    location.build(context(kakao)).run(ask("이거 어디에 버려?", GANGNAM, item="건전지"))

    assert kakao.requests[0]["params"]["query"] == "행정복지센터"


@pytest.mark.parametrize(
    ("message", "keyword", "category"),
    [
        ("근처 재활용센터 어디야?", "재활용센터", None),
        ("강남역 제로웨이스트샵 알려줘", "강남역 제로웨이스트샵", None),
        ("성수동 리필샵 어디 있어", "성수동 리필스테이션", None),
        ("대전 유성구 고물상 위치 알려줘", "대전 유성구 고물상", None),
        ("회사 근처 재활용센터 알려줘 역삼역이야", "역삼역 재활용센터", None),
        ("나 지금 잠실인데 근처 리필스테이션 있어?", "잠실 리필스테이션", None),
        ("우리 동네 주민센터 위치", "행정복지센터", "PO3"),
        ("종량제봉투 파는 편의점 가까운 곳", "편의점", "CS2"),
        ("폐지 팔 곳 찾고 있어 근처에", "고물상", None),
        ("recycling center near Hongdae", "홍대 재활용센터", None),
        ("제주도 제로웨이스트샵", "제주도 제로웨이스트샵", None),
        ("중고 가구 살 수 있는 재활용센터", "재활용센터", None),
        ("근처 폐차장 어디 있어요", "폐차장", None),
    ],
)
def test_message_becomes_a_sensible_kakao_search(message: str, keyword: str, category: str | None) -> None:
    query = parse_message(message)

    assert query.keyword == keyword
    assert query.kind.category == category


def test_unrecognised_place_falls_back_to_recycling_centres_and_says_so(kakao: FakeKakao) -> None:
    assert parse_message("거기 몇 시까지 해?").guessed
    result = location.build(context(kakao)).run(ask("거기 몇 시까지 해?", GANGNAM))

    assert result.status is ResultStatus.OK
    assert result.summary.startswith("찾으시는 장소를 정확히 알 수 없어 재활용센터를 찾아봤어요.")


@pytest.mark.parametrize(
    ("error", "expected", "error_type"),
    [
        ("missing_parameter", PermanentError, "MissingParameter"),
        ("invalid_argument", PermanentError, "InvalidArgument"),
        ("bad_key", PermanentError, "AccessDeniedError"),
        ("service_disabled", PermanentError, "NotAuthorizedError"),
        ("throttled", RetryableError, "RequestThrottled"),
        ("quota_code", RetryableError, "code -10"),
        ("server_error", RetryableError, "InternalServerError"),
        ("bad_gateway", RetryableError, "HTTP 502"),
    ],
)
def test_each_kakao_error_form_is_classified(
    kakao: FakeKakao, error: str, expected: type[Exception], error_type: str
) -> None:
    kakao.script(ERRORS[error])

    with pytest.raises(expected) as caught:
        location.build(context(kakao)).run(ask("강남역 재활용센터"))

    assert error_type in str(caught.value)
    assert "message" not in str(caught.value)
    body = ERRORS[error].body
    if isinstance(body, dict) and "message" in body:
        assert body["message"] not in str(caught.value)  # Kakao's text can carry the key or the caller IP


def test_timeout_is_retryable(kakao: FakeKakao) -> None:
    kakao.script(Reply(delay_s=1.0))

    with pytest.raises(RetryableError, match="timed out"):
        location.build(context(kakao, timeout_s=0.2)).run(ask("강남역 재활용센터"))


@pytest.mark.parametrize("reply", [MALFORMED, WRONG_SHAPE], ids=["not-json", "wrong-shape"])
def test_malformed_body_is_permanent(kakao: FakeKakao, reply: Reply) -> None:
    kakao.script(reply)

    with pytest.raises(PermanentError, match="malformed"):
        location.build(context(kakao)).run(ask("강남역 재활용센터"))


def test_breaker_opens_after_repeated_retryable_failures_and_closes_after_reset(kakao: FakeKakao) -> None:
    ctx = context(kakao)
    subagent = location.build(ctx)
    kakao.script(ERRORS["server_error"], ERRORS["server_error"])

    with pytest.raises(RetryableError):
        subagent.run(ask("강남역 재활용센터"))
    with pytest.raises(CircuitOpenError):  # the second failure reaches fail_max and opens it
        subagent.run(ask("강남역 재활용센터"))
    with pytest.raises(CircuitOpenError):
        subagent.run(ask("강남역 재활용센터"))
    assert len(kakao.requests) == 2  # open: no call reaches Kakao
    assert ctx.breakers.state("kakao") == "open"

    time.sleep(0.25)
    assert subagent.run(ask("강남역 재활용센터")).status is ResultStatus.OK
    assert ctx.breakers.state("kakao") == "closed"


def test_permanent_errors_do_not_open_the_breaker(kakao: FakeKakao) -> None:
    ctx = context(kakao)
    kakao.script(*[ERRORS["bad_key"]] * 3)

    for _ in range(3):
        with pytest.raises(PermanentError):
            location.build(ctx).run(ask("강남역 재활용센터"))
    assert ctx.breakers.state("kakao") == "closed"


def test_runner_retries_retryable_failures_then_reports_failed(kakao: FakeKakao) -> None:
    subagent = location.build(context(kakao, fail_max=5))
    runner = SubagentRunner({"location": subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)
    kakao.script(ERRORS["throttled"])

    with pytest.raises(RetryableError):
        runner.run("location", ask("강남역 재활용센터"), attempt=1, final_attempt=False)
    kakao.script(ERRORS["throttled"])
    result = runner.run("location", ask("강남역 재활용센터"), attempt=2, final_attempt=True)

    assert result.status is ResultStatus.FAILED
    assert result.error.startswith("retries exhausted: kakao: HTTP 429 RequestThrottled")


def test_without_a_key_it_is_not_configured_and_makes_no_call(kakao: FakeKakao) -> None:
    subagent = location.build(context(kakao, key=None))

    with pytest.raises(NotConfiguredError):
        subagent.run(ask("근처 재활용센터", GANGNAM))
    status, entries = run_through_runner(subagent, ask("근처 재활용센터", GANGNAM))

    assert status is ResultStatus.NOT_CONFIGURED
    assert ("location", "skipped") in [(e.get("stage"), e.get("status")) for e in entries]
    assert kakao.requests == []


def test_the_key_never_appears_in_errors_or_results(kakao: FakeKakao) -> None:
    secret = "sk-wrong-kakao-key-0123456789"
    subagent = location.build(context(kakao, key=secret))

    with pytest.raises(PermanentError) as caught:
        subagent.run(ask("강남역 재활용센터"))
    result = SubagentRunner({"location": subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "location", ask("강남역 재활용센터")
    )

    assert secret in json.dumps(kakao.requests[0]["headers"])  # it was sent (and echoed by the fake)...
    assert "AccessDeniedError" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__), json.dumps(result.to_dict())):
        assert secret not in text  # ...but never kept
    assert result.status is ResultStatus.FAILED


def test_client_refuses_requests_kakao_would_reject(kakao: FakeKakao) -> None:
    client = KakaoLocal.from_settings(context(kakao).settings, Breakers())
    assert client is not None

    with pytest.raises(ValueError, match="radius"):
        client.search_keyword("재활용센터", center=GANGNAM, radius_m=20_001)
    with pytest.raises(ValueError, match="center"):
        client.search_keyword("재활용센터", sort="distance")
    with pytest.raises(ValueError, match="size"):
        client.search_keyword("재활용센터", size=16)
    assert kakao.requests == []


def test_factory_does_no_io(kakao: FakeKakao) -> None:
    location.build(context(kakao))

    assert kakao.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"errorType": "wrong appKey(sk-secret) format", "message": "x"}',
        b'{"errorType": 401, "message": "sk-secret"}',
        b"sk-secret",
        b"",
    ],
)
def test_error_bodies_that_are_not_plain_error_types_add_nothing_to_the_message(body: bytes) -> None:
    error = error_for(401, body)

    assert isinstance(error, PermanentError)
    assert str(error) == "kakao: HTTP 401 (the REST API key was refused)"
