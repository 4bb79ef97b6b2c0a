"""``KakaoRegionLookup`` (``RegionLookupPort`` on coord2regioncode) against a local fake of ``dapi.kakao.com``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from eco2.adapters.kakao.client import REGION_PATH, KakaoLocal
from eco2.adapters.kakao.geocoder import KakaoRegionLookup, kakao_geocoder, kakao_region_lookup
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint
from eco2.errors import PermanentError, RetryableError
from eco2.ports.geo import Region, RegionLookupPort
from eco2.subagents.district import district_of
from tests.support.fake_kakao import (
    AREAS,
    CITY_HALL,
    ERRORS,
    KEY,
    MALFORMED,
    OPEN_SEA,
    WRONG_SHAPE,
    YEOKSAM,
    FakeKakao,
    Reply,
)

HERE = GeoPoint(*YEOKSAM)
YEOKSAM_DONG = Region("서울특별시", "강남구", "역삼동", "1168010100")


@pytest.fixture
def kakao() -> Iterator[FakeKakao]:
    with FakeKakao() as server:
        yield server


def settings(kakao: FakeKakao, key: str | None = KEY, timeout_s: float = 2.0) -> Settings:
    return Settings(
        kakao_api_key=Secret(key) if key is not None else None,
        kakao_base_url=kakao.base_url,
        upstream_timeout_s=timeout_s,
    )


def lookup(kakao: FakeKakao, key: str = KEY, timeout_s: float = 2.0, cache_size: int = 16) -> KakaoRegionLookup:
    client = KakaoLocal.from_settings(settings(kakao, key, timeout_s), Breakers(fail_max=2, reset_timeout_s=0.2))
    assert client is not None
    return KakaoRegionLookup(client, cache_size)


def test_the_region_at_a_point_with_the_real_request_shape(kakao: FakeKakao) -> None:
    port: RegionLookupPort = lookup(kakao)

    region = port.region_at(HERE)

    assert region == YEOKSAM_DONG
    assert region is not None
    assert region.label == "서울특별시 강남구 역삼동"
    (request,) = kakao.requests
    assert request["path"] == "/v2/local/geo/coord2regioncode.json" == REGION_PATH
    assert request["params"] == {"x": "127.0364000", "y": "37.5006000"}
    assert request["headers"]["Authorization"] == f"KakaoAK {KEY}"


def test_the_legal_dong_is_preferred_and_the_administrative_one_stands_in(kakao: FakeKakao) -> None:
    h_first = sorted(AREAS[0], key=lambda doc: doc["region_type"] != "H")
    only_h = h_first[:1]
    kakao.script(
        Reply(body={"meta": {"total_count": 2}, "documents": h_first}),
        Reply(body={"meta": {"total_count": 1}, "documents": only_h}),
    )

    assert lookup(kakao).region_at(HERE) == YEOKSAM_DONG
    assert lookup(kakao).region_at(HERE) == Region("서울특별시", "강남구", "역삼1동", "1168064000")


def test_a_point_in_no_region_is_none(kakao: FakeKakao) -> None:
    assert lookup(kakao).region_at(GeoPoint(*OPEN_SEA)) is None


def test_a_city_with_gu_and_sejong_become_districts(kakao: FakeKakao) -> None:
    port = lookup(kakao)
    suwon = port.region_at(GeoPoint(37.2638, 127.0446))
    sejong = port.region_at(GeoPoint(36.5040, 127.2650))
    city_hall = port.region_at(GeoPoint(*CITY_HALL))

    assert suwon is not None
    assert sejong is not None
    assert city_hall is not None
    assert [d.label if (d := district_of(r)) else None for r in (suwon, sejong, city_hall)] == [
        "경기도 수원시 영통구",
        "세종특별자치시",
        "서울특별시 중구",
    ]


def test_repeated_positions_are_answered_from_the_cache(kakao: FakeKakao) -> None:
    port = lookup(kakao)

    first = port.region_at(HERE)
    again = port.region_at(GeoPoint(37.500600004, 127.036399996))  # the same point to 5 decimals
    port.region_at(GeoPoint(*OPEN_SEA))
    port.region_at(GeoPoint(*OPEN_SEA))  # "no region" is cached too

    assert first == again == YEOKSAM_DONG
    assert len(kakao.requests) == 2
    assert port.cache_info() == {"hits": 2, "misses": 2, "size": 2}


def test_failures_are_not_cached(kakao: FakeKakao) -> None:
    port = lookup(kakao)
    kakao.script(ERRORS["server_error"])

    with pytest.raises(RetryableError):
        port.region_at(HERE)

    assert port.region_at(HERE) == YEOKSAM_DONG
    assert len(kakao.requests) == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_argument", PermanentError),
        ("bad_key", PermanentError),
        ("service_disabled", PermanentError),
        ("throttled", RetryableError),
        ("quota_code", RetryableError),
        ("server_error", RetryableError),
        ("bad_gateway", RetryableError),
    ],
)
def test_each_kakao_error_form_is_classified(kakao: FakeKakao, error: str, expected: type[Exception]) -> None:
    kakao.script(ERRORS[error])

    with pytest.raises(expected):
        lookup(kakao).region_at(HERE)


def test_a_refused_key_is_permanent_and_never_echoed(kakao: FakeKakao) -> None:
    wrong = "wrong-kakao-key-7731"

    with pytest.raises(PermanentError, match="HTTP 401") as info:
        lookup(kakao, key=wrong).region_at(HERE)
    assert wrong not in str(info.value)


def test_timeout_is_retryable(kakao: FakeKakao) -> None:
    kakao.script(Reply(delay_s=1.0))

    with pytest.raises(RetryableError, match="timed out"):
        lookup(kakao, timeout_s=0.2).region_at(HERE)


@pytest.mark.parametrize("reply", [MALFORMED, WRONG_SHAPE], ids=["not-json", "wrong-shape"])
def test_malformed_body_is_permanent(kakao: FakeKakao, reply: Reply) -> None:
    kakao.script(reply)

    with pytest.raises(PermanentError, match="malformed"):
        lookup(kakao).region_at(HERE)


def test_it_shares_the_kakao_breaker_with_the_geocoder(kakao: FakeKakao) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    regions = kakao_region_lookup(settings(kakao), breakers)
    geocoder = kakao_geocoder(settings(kakao), breakers)
    assert regions is not None
    kakao.script(ERRORS["throttled"], ERRORS["throttled"])

    with pytest.raises(RetryableError):
        regions.region_at(HERE)
    with pytest.raises(CircuitOpenError):
        geocoder.geocode("서울 강남구 테헤란로 152")  # the second failure opened the shared breaker
    with pytest.raises(CircuitOpenError):
        regions.region_at(HERE)
    assert len(kakao.requests) == 2
    assert breakers.state("kakao") == "open"

    time.sleep(0.25)
    assert regions.region_at(HERE) == YEOKSAM_DONG
    assert breakers.state("kakao") == "closed"


def test_without_a_key_there_is_no_lookup(kakao: FakeKakao) -> None:
    assert kakao_region_lookup(settings(kakao, key=None), Breakers()) is None
    assert kakao.requests == []


@pytest.mark.parametrize(
    ("params", "error_type"),
    [
        ({"x": "127.0364"}, "MissingParameter"),
        ({"x": "abc", "y": "37.5"}, "InvalidArgument"),
        ({"x": "127.0364", "y": "37.5006", "input_coord": "MARS"}, "InvalidArgument"),
    ],
)
def test_the_fake_refuses_bad_coordinates_like_kakao(kakao: FakeKakao, params: dict[str, str], error_type: str) -> None:
    response = requests.get(
        kakao.base_url + REGION_PATH, params=params, headers={"Authorization": f"KakaoAK {KEY}"}, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["errorType"] == error_type
    unauthorised = requests.get(kakao.base_url + REGION_PATH, params={"x": "127", "y": "37.5"}, timeout=5)
    assert unauthorised.status_code == 401
