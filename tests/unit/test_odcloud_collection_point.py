"""The ``collection_point`` subagent and the odcloud client, against a local fake of ``api.odcloud.kr``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from eco2.adapters.kakao.geocoder import KakaoGeocoder, KakaoRegionLookup
from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.districts import UNLOCATED_NOTE
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import PermanentError, RetryableError
from eco2.subagents.collection_point import CollectionPointFinder, find_kind, haversine_km, neighbourhoods
from eco2.subagents.collection_point import subagent as collection_point
from eco2.subagents.collection_point.keco import KecoCollectionPoints
from eco2.subagents.collection_point.odcloud import OdcloudClient
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_odcloud import DATASET, VALID_KEY, FakeOdcloud

GANGNAM_STATION = GeoPoint(37.497942, 127.027621)
COORDS = {
    "서울특별시 강남구 역삼로 7길 16": GeoPoint(37.4953, 127.0333),  # ~0.6 km from 강남역
    "서울특별시 강남구 역삼로 310": GeoPoint(37.4999, 127.0480),  # ~1.8 km
    "서울특별시 강남구 남부순환로 2936": GeoPoint(37.4935, 127.0570),  # ~2.6 km
}


class FakeGeocoder:
    """A ``GeocoderPort`` with fixed answers, optional failures and delay; records what it was asked."""

    def __init__(self, fail: frozenset[str] = frozenset(), delay_s: float = 0.0) -> None:
        self.fail = fail
        self.delay_s = delay_s
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def geocode(self, address: str) -> GeoPoint | None:
        with self._lock:
            self.asked.append(address)
        time.sleep(self.delay_s)
        if address in self.fail:
            raise RetryableError("kakao: HTTP 500")
        return COORDS.get(address)


@pytest.fixture
def odcloud() -> Iterator[FakeOdcloud]:
    with FakeOdcloud(slow_s=1.0) as server:
        yield server


def context(
    odcloud: FakeOdcloud,
    keco: str | None = VALID_KEY,
    portal: str | None = None,
    kakao: str | None = None,
    timeout_s: float = 2.0,
) -> SubagentContext:
    settings = Settings(
        keco_api_key=Secret(keco) if keco else None,
        data_go_kr_key=Secret(portal) if portal else None,
        kakao_api_key=Secret(kakao) if kakao else None,
        odcloud_base_url=odcloud.base_url,
        upstream_timeout_s=timeout_s,
    )
    return SubagentContext(settings, Breakers(fail_max=2, reset_timeout_s=0.2), NoOpMetricsAdapter())


def finder(
    ctx: SubagentContext, geocoder: FakeGeocoder | None = None, dataset: str | None = None
) -> CollectionPointFinder:
    client = OdcloudClient(ctx.http("odcloud", ctx.settings.odcloud_base_url), ctx.settings.keco_api_key or Secret(""))
    points = KecoCollectionPoints(client, dataset) if dataset else KecoCollectionPoints(client)
    return CollectionPointFinder(points, geocoder)


def ask(message: str, where: GeoPoint | None = None, **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("collection_point",), user_location=where, hints=hints)


def run(subagent: object, query: SubagentQuery) -> tuple[SubagentResult, list[str]]:
    stages: list[str] = []
    events = MemoryEvents(
        listener=lambda job, entry: stages.append(f"{entry['stage']}:{entry['status']}") if "stage" in entry else None
    )
    result = SubagentRunner({"collection_point": subagent}, events, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "collection_point", query
    )  # type: ignore[dict-item]
    return result, stages


def test_search_filters_by_kind_and_district_with_the_infuser_header(odcloud: FakeOdcloud) -> None:
    result = collection_point.build(context(odcloud)).run(ask("강남구 폐휴대폰 어디에 버려?"))

    assert result.status is ResultStatus.OK
    (request,) = odcloud.requests
    assert request["path"] == DATASET
    assert request["headers"]["Authorization"] == f"Infuser {VALID_KEY}"
    params = request["params"]
    assert (params["page"], params["perPage"], params["returnType"]) == ("1", "200", "JSON")
    assert params["cond[수거종류::LIKE]"] == "휴대폰"
    assert params["cond[수거장소(주소)::LIKE]"] == "강남구"
    names = [p["name"] for p in result.data["points"]]
    assert names == ["민팃ATM 이마트 역삼점", "역삼1동 행정복지센터", "대치1동 행정복지센터"]
    assert all(p["distance_km"] is None for p in result.data["points"])
    assert "[서울특별시 강남구 폐휴대폰 수거 장소]" in result.summary
    assert "3곳" in result.summary
    assert "한국환경공단" in result.summary
    assert "1599-0903" in result.summary
    assert result.sources[0].url == "https://www.data.go.kr/data/15106385/fileData.do"


def test_nearest_points_first_when_location_and_geocoder_are_known(odcloud: FakeOdcloud) -> None:
    geocoder = FakeGeocoder()
    result = finder(context(odcloud), geocoder).run(ask("근처 폐휴대폰 수거함 강남구", GANGNAM_STATION))

    names = [p["name"] for p in result.data["points"]]
    assert names == ["역삼1동 행정복지센터", "민팃ATM 이마트 역삼점", "대치1동 행정복지센터"]
    distances = [p["distance_km"] for p in result.data["points"]]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(0.6, abs=0.15)
    assert "가까운 순" in result.summary
    assert "약 0.6km" in result.summary
    assert sorted(geocoder.asked) == sorted(COORDS)


def test_geocoding_failures_leave_points_without_distance(odcloud: FakeOdcloud) -> None:
    geocoder = FakeGeocoder(fail=frozenset({"서울특별시 강남구 역삼로 7길 16"}))
    result = finder(context(odcloud), geocoder).run(ask("강남구 폐휴대폰", GANGNAM_STATION))

    assert result.status is ResultStatus.OK
    points = result.data["points"]
    assert [p["name"] for p in points][-1] == "역삼1동 행정복지센터"  # not located: listed after the located ones
    assert points[-1]["distance_km"] is None
    assert result.data["geocoded"] == 2


def test_slow_geocoder_is_cut_off_by_the_budget(odcloud: FakeOdcloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collection_point, "GEOCODE_BUDGET_S", 0.2)
    started = time.monotonic()
    result = finder(context(odcloud), FakeGeocoder(delay_s=1.0)).run(ask("강남구 폐휴대폰", GANGNAM_STATION))

    assert time.monotonic() - started < 0.9
    assert result.status is ResultStatus.OK
    assert result.data["geocoded"] == 0
    assert "거리를 계산하지 못해" in result.summary


def test_neighbourhood_in_the_message_ranks_its_points_first(odcloud: FakeOdcloud) -> None:
    result = collection_point.build(context(odcloud)).run(ask("강남구 대치동 폐휴대폰"))

    assert result.data["points"][0]["name"] == "대치1동 행정복지센터"
    assert neighbourhoods("역삼1동 근처에 버릴 데") == ["역삼1동"]


def test_points_of_another_sido_are_dropped(odcloud: FakeOdcloud) -> None:
    result = collection_point.build(context(odcloud)).run(ask("서울 중구 폐휴대폰"))

    assert [p["name"] for p in result.data["points"]] == ["중구청"]


@pytest.mark.parametrize(
    ("message", "expected"), [("중구 폐건전지", "여러 곳"), ("폐건전지 어디에 버려?", "어느 시·군·구")]
)
def test_missing_district_asks_without_network(odcloud: FakeOdcloud, message: str, expected: str) -> None:
    result, stages = run(collection_point.build(context(odcloud)), ask(message, GANGNAM_STATION))

    assert result.status is ResultStatus.NEEDS_INPUT
    assert expected in result.summary
    if expected == "어느 시·군·구":  # a location was shared, but it does not tell the district
        assert result.summary.endswith(UNLOCATED_NOTE)
    assert "폐건전지" in result.summary
    assert result.data["missing"] == "district"
    assert odcloud.requests == []
    assert stages == ["collection_point:started", "collection_point:completed"]


def test_kind_without_points_is_empty_with_guidance(odcloud: FakeOdcloud) -> None:
    result = collection_point.build(context(odcloud)).run(ask("강남구 폐의약품 버리는 곳"))

    assert result.status is ResultStatus.EMPTY
    assert odcloud.requests[0]["params"]["cond[수거종류::LIKE]"] == "의약품"
    assert "약국" in result.summary
    assert "찾지 못했어요" in result.summary


def test_kinds_are_found_by_longest_alias() -> None:
    labels = [
        kind.label if kind else None for kind in map(find_kind, ["보조배터리 버리기", "헤어 드라이어", "남은 약"])
    ]
    assert labels == ["폐건전지", "중소형 폐가전", "폐의약품"]
    assert find_kind("안녕하세요") is None


def test_wrong_key_is_permanent_and_never_echoed(odcloud: FakeOdcloud) -> None:
    secret = "s3cret-odcloud-key-9042"
    with pytest.raises(PermanentError, match="HTTP 401") as info:
        collection_point.build(context(odcloud, keco=secret)).run(ask("강남구 폐휴대폰"))
    assert secret not in str(info.value)

    result, _ = run(collection_point.build(context(odcloud, keco=secret)), ask("강남구 폐휴대폰"))
    assert result.status is ResultStatus.FAILED
    assert secret not in str(result.to_dict())


def test_portal_key_is_used_when_no_keco_key_is_set(odcloud: FakeOdcloud) -> None:
    result = collection_point.build(context(odcloud, keco=None, portal=VALID_KEY)).run(ask("강남구 폐휴대폰"))

    assert result.status is ResultStatus.OK
    assert odcloud.requests[0]["headers"]["Authorization"] == f"Infuser {VALID_KEY}"


@pytest.mark.parametrize(
    ("mode", "error", "text"),
    [
        ("quota", PermanentError, "HTTP 400"),
        ("bad_parameter", PermanentError, "HTTP 400"),
        ("internal_400", PermanentError, "HTTP 400"),
        ("server_error", RetryableError, "HTTP 500"),
        ("code_in_200", PermanentError, r"unregistered key .*\(code -4\)"),
        ("internal_in_200", RetryableError, r"internal error \(code -1\)"),
        ("malformed", PermanentError, "not JSON"),
        ("no_data_list", PermanentError, "no 'data' list"),
    ],
)
def test_documented_error_forms_are_classified(
    odcloud: FakeOdcloud, mode: str, error: type[Exception], text: str
) -> None:
    odcloud.script(mode)
    with pytest.raises(error, match=text):
        collection_point.build(context(odcloud)).run(ask("강남구 폐휴대폰"))


def test_wrong_dataset_path_is_permanent(odcloud: FakeOdcloud) -> None:
    subagent = finder(context(odcloud), dataset="15106385/v1/uddi:00000000-0000-0000-0000-000000000000")
    with pytest.raises(PermanentError, match="HTTP 400"):
        subagent.run(ask("강남구 폐휴대폰"))


def test_timeout_is_retryable_and_fails_through_the_runner(odcloud: FakeOdcloud) -> None:
    odcloud.script("slow", "slow")
    with pytest.raises(RetryableError, match="timed out"):
        collection_point.build(context(odcloud, timeout_s=0.2)).run(ask("강남구 폐휴대폰"))

    result, stages = run(collection_point.build(context(odcloud, timeout_s=0.2)), ask("강남구 폐휴대폰"))
    assert result.status is ResultStatus.FAILED
    assert "retries exhausted" in result.error
    assert stages[-1] == "collection_point:failed"


def test_breaker_opens_after_repeated_failures_and_closes_after_reset(odcloud: FakeOdcloud) -> None:
    ctx = context(odcloud)
    subagent = collection_point.build(ctx)
    odcloud.script("server_error", "server_error")
    with pytest.raises(RetryableError):
        subagent.run(ask("강남구 폐휴대폰"))
    with pytest.raises(CircuitOpenError):  # the second failure reaches fail_max and opens it
        subagent.run(ask("강남구 폐휴대폰"))
    with pytest.raises(CircuitOpenError):
        subagent.run(ask("강남구 폐휴대폰"))
    assert len(odcloud.requests) == 2
    assert ctx.breakers.state("odcloud") == "open"

    time.sleep(0.25)
    assert subagent.run(ask("강남구 폐휴대폰")).status is ResultStatus.OK
    assert ctx.breakers.state("odcloud") == "closed"


def test_without_keys_it_says_where_items_usually_go_and_calls_nothing(odcloud: FakeOdcloud) -> None:
    # Issue 14: no longer "not configured" only; the typical answer is tested in test_without_keys.py.
    subagent = collection_point.build(context(odcloud, keco=None))

    result, stages = run(subagent, ask("강남구 폐휴대폰"))
    assert result.status is ResultStatus.OK
    assert result.data["source"] == "typical"
    assert "KECO_API_KEY" in result.summary
    assert stages == ["collection_point:started", "collection_point:completed"]
    assert odcloud.requests == []


def test_kakao_geocoder_and_region_lookup_are_built_only_with_a_kakao_key(odcloud: FakeOdcloud) -> None:
    without = collection_point.build(context(odcloud))
    with_kakao = collection_point.build(context(odcloud, kakao="kakao-key"))

    assert isinstance(without, CollectionPointFinder)
    assert without._geocoder is None
    assert isinstance(with_kakao, CollectionPointFinder)
    assert isinstance(with_kakao._geocoder, KakaoGeocoder)
    assert without._regions is None
    assert isinstance(with_kakao._regions, KakaoRegionLookup)
    assert odcloud.requests == []


def test_runner_reports_ok_with_stage_events(odcloud: FakeOdcloud) -> None:
    result, stages = run(collection_point.build(context(odcloud)), ask("수원 영통구 소형가전 수거함"))

    assert result.status is ResultStatus.OK
    assert stages == ["collection_point:started", "collection_point:completed"]
    assert odcloud.requests[0]["params"]["cond[수거장소(주소)::LIKE]"] == "영통구"
    assert [p["name"] for p in result.data["points"]] == ["매탄1동 행정복지센터"]


def test_haversine_distance() -> None:
    city_hall = GeoPoint(37.566535, 126.977969)
    assert haversine_km(city_hall, GANGNAM_STATION) == pytest.approx(8.8, abs=0.3)
    assert haversine_km(city_hall, city_hall) == 0
