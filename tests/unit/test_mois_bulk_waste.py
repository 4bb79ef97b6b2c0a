"""The ``bulk_waste`` subagent and the MOIS household-waste client, against a local fake of the data.go.kr API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from eco2.adapters.datagokr import parse
from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.districts import District, resolve_district
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import PermanentError, RetryableError
from eco2.subagents import bulk_waste
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_mois import VALID_KEY, FakeMois


@pytest.fixture
def mois() -> Iterator[FakeMois]:
    with FakeMois(slow_s=1.0) as server:
        yield server


def context(mois: FakeMois, key: str | None = VALID_KEY, timeout_s: float = 2.0) -> SubagentContext:
    settings = Settings(
        data_go_kr_key=Secret(key) if key is not None else None,
        mois_base_url=mois.base_url,
        upstream_timeout_s=timeout_s,
    )
    return SubagentContext(settings, Breakers(fail_max=2, reset_timeout_s=0.2), NoOpMetricsAdapter())


def ask(message: str, **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("bulk_waste",), hints=hints)


def run(subagent: object, query: SubagentQuery, final_attempt: bool = True) -> tuple[SubagentResult, list[str]]:
    stages: list[str] = []
    events = MemoryEvents(
        listener=lambda job, entry: stages.append(f"{entry['stage']}:{entry['status']}") if "stage" in entry else None
    )
    result = SubagentRunner({"bulk_waste": subagent}, events, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(  # type: ignore[dict-item]
        "bulk_waste", query, final_attempt=final_attempt
    )
    return result, stages


def test_district_answer_combines_mois_rows_and_typical_fees(mois: FakeMois) -> None:
    result = bulk_waste.build(context(mois)).run(ask("강남구에서 소파 버리려면 어떻게 해?"))

    assert result.status is ResultStatus.OK
    (request,) = mois.requests
    assert request["path"] == "/1741000/household_waste_info/info"
    params = request["params"]
    assert params["serviceKey"] == VALID_KEY
    assert (params["pageNo"], params["numOfRows"], params["returnType"]) == ("1", "100", "json")
    assert params["cond[SGG_NM::LIKE]"] == "강남구"
    summary = result.summary
    assert "[서울특별시 강남구 대형폐기물 배출 안내]" in summary
    assert "스티커(접수번호) 부착 배출" in summary
    assert "청소행정과 02-3423-5940" in summary
    assert "데이터 기준일 2025-06-30" in summary
    assert "https://clean.gangnam.go.kr/use/biwa/USEBIWA02010000.do" in summary
    assert "소파 수수료(전국 일반 범위, 대략)" in summary
    assert "3인용 약 7,000~14,000원" in summary
    assert "참고용" in summary
    assert "USEBIWA01000000.do" in summary
    urls = [s.url for s in result.sources]
    assert "https://www.data.go.kr/data/15155080/openapi.do" in urls
    assert result.data["district"] == "서울특별시 강남구"
    assert result.data["items"] == ["sofa"]


def test_posted_district_fee_is_labelled_with_its_date(mois: FakeMois) -> None:
    result = bulk_waste.build(context(mois)).run(ask("강남구 의자 버리는 비용"))

    assert "의자 수수료(2026-07-02 기준 강남구 게시 금액): 1인용 2,000원" in result.summary
    assert result.data["fee_as_of"] == "2026-07-02"


def test_large_appliance_points_to_free_pickup(mois: FakeMois) -> None:
    result = bulk_waste.build(context(mois)).run(ask("강남구 냉장고 버리고 싶어요"))

    assert "폐가전제품 무상방문수거" in result.summary
    assert "1599-0903" in result.summary
    assert "https://www.15990903.or.kr" in [s.url for s in result.sources]


def test_single_row_object_and_alternative_field_names_are_read(mois: FakeMois) -> None:
    result = bulk_waste.build(context(mois)).run(ask("수원 영통구 장롱"))

    assert result.status is ResultStatus.OK
    assert mois.requests[0]["params"]["cond[SGG_NM::LIKE]"] == "수원시"
    assert "대형폐기물 인터넷 신고 후 필증 부착" in result.summary  # BULK_WST_EMSN_MTHD
    assert "031-228-3249" in result.summary  # MNG_DEPT_TEL
    assert result.data["district"] == "경기도 수원시 영통구"


@pytest.mark.parametrize("mode", ["bare_list", "single"])
def test_items_in_any_shape_are_accepted(mois: FakeMois, mode: str) -> None:
    mois.script(mode)
    result = bulk_waste.build(context(mois)).run(ask("서울 중구 소파"))

    assert result.status is ResultStatus.OK
    assert [row["sido"] for row in result.data["rows"]] == ["서울특별시"]  # 부산 중구 is filtered out


@pytest.mark.parametrize("mode", ["empty", "no_data"])
def test_nothing_found_is_empty(mois: FakeMois, mode: str) -> None:
    mois.script(mode)
    result = bulk_waste.build(context(mois)).run(ask("노원구 소파"))

    assert result.status is ResultStatus.EMPTY
    assert "항목이 없어요" in result.summary


def test_fee_table_district_without_mois_rows_is_still_useful(mois: FakeMois) -> None:
    result = bulk_waste.build(context(mois)).run(ask("송파구 의자"))

    assert result.status is ResultStatus.OK
    assert "항목이 없어요" in result.summary
    assert "smartclean.songpa.go.kr" in result.summary


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("중구 소파 버리려고", "여러 곳"),
        ("부산 소파", "부산광역시의 어느 구·군"),
        ("소파 버리고 싶어", "어느 시·군·구"),
    ],
)
def test_missing_district_asks_without_network(mois: FakeMois, message: str, expected: str) -> None:
    result, stages = run(bulk_waste.build(context(mois)), ask(message))

    assert result.status is ResultStatus.NEEDS_INPUT
    assert expected in result.summary
    assert "소파 수수료(전국 일반 범위, 대략)" in result.summary
    assert result.data["missing"] == "district"
    assert mois.requests == []
    assert stages == ["bulk_waste:started", "bulk_waste:completed"]


def test_wrong_key_is_permanent_and_never_echoed(mois: FakeMois) -> None:
    secret = "s3cret-wrong-key-4711"
    with pytest.raises(PermanentError, match="SERVICE_KEY_IS_NOT_REGISTERED_ERROR") as info:
        bulk_waste.build(context(mois, key=secret)).run(ask("강남구 소파"))
    assert secret not in str(info.value)

    result, _ = run(bulk_waste.build(context(mois, key=secret)), ask("강남구 소파"))
    assert result.status is ResultStatus.FAILED
    assert secret not in result.error
    assert secret not in str(result.to_dict())


def test_url_encoded_key_from_the_portal_is_decoded_once(mois: FakeMois) -> None:
    encoded = VALID_KEY.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    result = bulk_waste.build(context(mois, key=encoded)).run(ask("강남구 소파"))

    assert result.status is ResultStatus.OK


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("auth_401", PermanentError, "HTTP 401"),
        ("quota", PermanentError, "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR"),
        ("gateway_param", PermanentError, "INVALID_REQUEST_PARAMETER_ERROR"),
        ("service_error", RetryableError, "APPLICATION_ERROR"),
        ("server_error", RetryableError, "HTTP 500"),
        ("unavailable", RetryableError, "HTTP 503"),
        ("malformed", PermanentError, "malformed"),
    ],
)
def test_documented_error_forms_are_classified(mois: FakeMois, mode: str, error: type[Exception], text: str) -> None:
    mois.script(mode)
    key = VALID_KEY if mode != "auth_401" else "not-registered"
    with pytest.raises(error, match=text):
        bulk_waste.build(context(mois, key=key)).run(ask("강남구 소파"))


def test_timeout_is_retryable_and_fails_after_retries(mois: FakeMois) -> None:
    mois.script("slow", "slow")
    with pytest.raises(RetryableError, match="timed out"):
        bulk_waste.build(context(mois, timeout_s=0.2)).run(ask("강남구 소파"))

    result, stages = run(bulk_waste.build(context(mois, timeout_s=0.2)), ask("강남구 소파"))
    assert result.status is ResultStatus.FAILED
    assert "retries exhausted" in result.error
    assert stages[-1] == "bulk_waste:failed"


def test_retryable_error_is_reraised_when_another_attempt_follows(mois: FakeMois) -> None:
    mois.script("server_error")
    with pytest.raises(RetryableError):
        run(bulk_waste.build(context(mois)), ask("강남구 소파"), final_attempt=False)


def test_breaker_opens_after_repeated_failures_and_closes_after_reset(mois: FakeMois) -> None:
    ctx = context(mois)
    subagent = bulk_waste.build(ctx)
    mois.script("server_error", "server_error")
    with pytest.raises(RetryableError):
        subagent.run(ask("강남구 소파"))
    with pytest.raises(CircuitOpenError):  # the second failure reaches fail_max and opens it
        subagent.run(ask("강남구 소파"))
    with pytest.raises(CircuitOpenError):
        subagent.run(ask("강남구 소파"))
    assert len(mois.requests) == 2  # the open breaker answered without calling the server
    assert ctx.breakers.state("mois") == "open"

    time.sleep(0.25)
    assert subagent.run(ask("강남구 소파")).status is ResultStatus.OK
    assert ctx.breakers.state("mois") == "closed"


def test_without_key_it_answers_typical_fees_at_once_and_calls_nothing(mois: FakeMois) -> None:
    # Issue 14: no longer "not configured" only; the typical answer is tested in test_without_keys.py.
    subagent = bulk_waste.build(context(mois, key=None))

    result, stages = run(subagent, ask("강남구 소파"))
    assert result.status is ResultStatus.OK
    assert result.data["source"] == "typical"
    assert "DATA_GO_KR_SERVICE_KEY" in result.summary
    assert stages == ["bulk_waste:started", "bulk_waste:completed"]
    assert SubagentRunner(
        {"bulk_waste": subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY
    ).settled("bulk_waste")  # no task needed
    assert mois.requests == []


def test_runner_reports_ok_with_stage_events(mois: FakeMois) -> None:
    result, stages = run(bulk_waste.build(context(mois)), ask("강남구 매트리스"))

    assert result.status is ResultStatus.OK
    assert stages == ["bulk_waste:started", "bulk_waste:completed"]
    assert "매트리스 수수료(2026-07-02 기준 강남구 게시 금액): 1인용 5,000원, 2인용 8,000원" in result.summary


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("강남구 소파", "서울특별시 강남구"),
        ("수원시 장롱", "경기도 수원시"),
        ("부산 해운대 소파", "부산광역시 해운대구"),
        ("서울강남구 의자", "서울특별시 강남구"),
        ("포항 남구 침대", "경상북도 포항시 남구"),
        ("분당 의자", "경기도 성남시 분당구"),
        ("세종 냉장고", "세종특별자치시"),
        ("광주 북구 책상", "광주광역시 북구"),
    ],
)
def test_district_is_found_in_the_message(text: str, label: str) -> None:
    district = resolve_district(text).district
    assert isinstance(district, District)
    assert district.label == label


@pytest.mark.parametrize("text", ["동작 버튼이 고장난 선풍기", "구리 전선 버리는 법", "양주병 분리배출"])
def test_everyday_words_are_not_districts(text: str) -> None:
    resolution = resolve_district(text)
    assert resolution.district is None
    assert resolution.candidates == ()


def test_gateway_forms_in_json_and_xml_are_parsed() -> None:
    ok = '{"response": {"header": {"resultCode": 0}, "body": {"items": {"item": {"SGG_NM": "x"}}, "totalCount": 1}}}'
    assert parse("mois", ok).items == ({"SGG_NM": "x"},)
    empty = '{"response": {"header": {"resultCode": "00"}, "body": {"items": "", "totalCount": 0}}}'
    assert parse("mois", empty).items == ()
    key_json = '{"OpenAPI_ServiceResponse": {"cmmMsgHeader": {"returnReasonCode": "30"}}}'
    with pytest.raises(PermanentError, match="SERVICE_KEY_IS_NOT_REGISTERED_ERROR"):
        parse("mois", key_json)
    with pytest.raises(RetryableError, match="SERVICETIME_OUT"):
        parse("mois", "<OpenAPI_ServiceResponse><cmmMsgHeader><returnReasonCode>05</returnReasonCode>")
    with pytest.raises(PermanentError, match="XML where JSON"):
        parse("mois", "<response><header><resultCode>00</resultCode></header></response>")


def test_fee_table_covers_districts_with_sources_and_dates() -> None:
    table = bulk_waste.load_fee_table()
    item_ids = {item.id for item in table.items}

    assert len(table.districts) >= 10
    assert {d.sido for d in table.districts} >= {"서울특별시", "경기도", "대구광역시"}
    assert sum(1 for d in table.districts if d.fees) >= 8
    for district in table.districts:
        assert district.application_url.startswith("https://")
        assert district.fee_url.startswith("https://")
        assert district.source_url.startswith("https://")
        assert len(district.as_of) == 10
        assert set(district.fees) <= item_ids
        for fees in district.fees.values():
            assert all(0 <= fee.low <= fee.high <= 50000 for fee in fees)
    for item in table.items:
        assert item.typical
        assert all(0 < fee.low < fee.high for fee in item.typical)
    assert {"sofa", "mattress", "wardrobe", "desk", "chair", "refrigerator"} <= item_ids
    assert "바뀌" in table.caveat


def test_district_subagents_resolve_and_name_candidates_alike() -> None:
    from eco2.domain.districts import candidate_names, resolve_in

    carried = resolve_in("강남구", "거기서 소파 버리는 법")  # the district came in an earlier turn
    assert carried.district is not None
    assert carried.district.sigungu == "강남구"
    ambiguous = resolve_in("", "중구 소파").candidates
    assert len(ambiguous) >= 6
    names = candidate_names(ambiguous + ambiguous[:1])
    assert names.split("·") == list(dict.fromkeys(c.label for c in ambiguous))
