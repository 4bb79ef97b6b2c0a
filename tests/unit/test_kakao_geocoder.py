"""``KakaoGeocoder`` (``GeocoderPort`` on Kakao's address search) against a local fake of ``dapi.kakao.com``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from eco2.adapters.kakao.client import KakaoLocal
from eco2.adapters.kakao.geocoder import KakaoGeocoder, kakao_geocoder, shorten_address
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.ports.geo import GeocoderPort
from tests.support.fake_kakao import ERRORS, KEY, MALFORMED, WRONG_SHAPE, FakeKakao, Reply

TEHERAN_152 = GeoPoint(37.5000242405515, 127.036508620542)


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


def geocoder(kakao: FakeKakao, cache_size: int = 16, key: str = KEY, timeout_s: float = 2.0) -> KakaoGeocoder:
    client = KakaoLocal.from_settings(settings(kakao, key, timeout_s), Breakers(fail_max=2, reset_timeout_s=0.2))
    assert client is not None
    return KakaoGeocoder(client, cache_size)


def test_geocodes_a_road_address_with_the_real_request_shape(kakao: FakeKakao) -> None:
    port: GeocoderPort = geocoder(kakao)

    point = port.geocode("서울 강남구 테헤란로 152")

    assert point == TEHERAN_152
    (request,) = kakao.requests
    assert request["path"] == "/v2/local/search/address.json"
    assert request["params"]["query"] == "서울 강남구 테헤란로 152"
    assert request["headers"]["Authorization"] == f"KakaoAK {KEY}"


def test_lot_number_address_resolves_too(kakao: FakeKakao) -> None:
    assert geocoder(kakao).geocode("서울 강남구 역삼동 737") == TEHERAN_152


def test_unknown_address_is_none(kakao: FakeKakao) -> None:
    assert geocoder(kakao).geocode("서울 없는구 없는로 1") is None


def test_blank_address_is_none_without_a_call(kakao: FakeKakao) -> None:
    assert geocoder(kakao).geocode("   ") is None
    assert kakao.requests == []


def test_repeated_addresses_are_answered_from_the_cache(kakao: FakeKakao) -> None:
    port = geocoder(kakao)

    first = port.geocode("서울 강남구 테헤란로 152")
    again = port.geocode("  서울  강남구 테헤란로 152 ")  # same address, other spacing

    assert first == again == TEHERAN_152
    assert len(kakao.requests) == 1
    assert port.cache_info() == {"hits": 1, "misses": 1, "size": 1}


def test_not_found_is_cached_too(kakao: FakeKakao) -> None:
    port = geocoder(kakao)

    assert port.geocode("서울 없는구 없는로 1") is None
    assert port.geocode("서울 없는구 없는로 1") is None

    assert len(kakao.requests) == 1


def test_cache_is_bounded_and_evicts_the_least_recently_used(kakao: FakeKakao) -> None:
    port = geocoder(kakao, cache_size=2)

    port.geocode("서울 강남구 테헤란로 152")
    port.geocode("서울 마포구 망원동 400-1")
    port.geocode("서울 강남구 테헤란로 152")  # hit: now the most recent
    port.geocode("서울 없는구 없는로 1")  # evicts 망원동
    port.geocode("서울 강남구 테헤란로 152")  # still cached
    port.geocode("서울 마포구 망원동 400-1")  # asked again

    queries = [r["params"]["query"] for r in kakao.requests]
    assert queries == [
        "서울 강남구 테헤란로 152",
        "서울 마포구 망원동 400-1",
        "서울 없는구 없는로 1",
        "서울 마포구 망원동 400-1",
    ]
    assert port.cache_info()["size"] == 2


def test_failures_are_not_cached(kakao: FakeKakao) -> None:
    port = geocoder(kakao)
    kakao.script(ERRORS["server_error"])

    with pytest.raises(RetryableError):
        port.geocode("서울 강남구 테헤란로 152")

    assert port.geocode("서울 강남구 테헤란로 152") == TEHERAN_152
    assert len(kakao.requests) == 2


def test_dataset_details_are_cut_when_the_full_address_finds_nothing(kakao: FakeKakao) -> None:
    point = geocoder(kakao).geocode("서울 강남구 테헤란로 152 (역삼동) 강남파이낸스센터 3층")

    assert point == TEHERAN_152
    assert [r["params"]["query"] for r in kakao.requests] == [
        "서울 강남구 테헤란로 152 (역삼동) 강남파이낸스센터 3층",
        "서울 강남구 테헤란로 152",
    ]


@pytest.mark.parametrize(
    ("address", "short"),
    [
        ("서울 강남구 테헤란로 152 강남파이낸스센터 3층", "서울 강남구 테헤란로 152"),
        ("서울특별시 마포구 망원동 400-1번지 1층", "서울특별시 마포구 망원동 400-1번지"),
        ("경기 안산시 단원구 고잔동 산 12", None),
        ("서울 강남구 테헤란로 152", None),
    ],
)
def test_shorten_address(address: str, short: str | None) -> None:
    assert shorten_address(address) == short


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("missing_parameter", PermanentError),
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
        geocoder(kakao).geocode("서울 강남구 테헤란로 152")


def test_timeout_is_retryable(kakao: FakeKakao) -> None:
    kakao.script(Reply(delay_s=1.0))

    with pytest.raises(RetryableError, match="timed out"):
        geocoder(kakao, timeout_s=0.2).geocode("서울 강남구 테헤란로 152")


@pytest.mark.parametrize("reply", [MALFORMED, WRONG_SHAPE], ids=["not-json", "wrong-shape"])
def test_malformed_body_is_permanent(kakao: FakeKakao, reply: Reply) -> None:
    kakao.script(reply)

    with pytest.raises(PermanentError, match="malformed"):
        geocoder(kakao).geocode("서울 강남구 테헤란로 152")


def test_breaker_opens_after_repeated_retryable_failures_and_closes_after_reset(kakao: FakeKakao) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    port = kakao_geocoder(settings(kakao), breakers)
    kakao.script(ERRORS["throttled"], ERRORS["throttled"])

    with pytest.raises(RetryableError):
        port.geocode("서울 강남구 테헤란로 152")
    with pytest.raises(CircuitOpenError):
        port.geocode("서울 강남구 테헤란로 152")
    with pytest.raises(CircuitOpenError):
        port.geocode("서울 강남구 테헤란로 152")
    assert len(kakao.requests) == 2
    assert breakers.state("kakao") == "open"

    time.sleep(0.25)
    assert port.geocode("서울 강남구 테헤란로 152") == TEHERAN_152
    assert breakers.state("kakao") == "closed"


def test_without_a_key_it_is_not_configured_and_makes_no_call(kakao: FakeKakao) -> None:
    port = kakao_geocoder(settings(kakao, key=None), Breakers())

    with pytest.raises(NotConfiguredError):
        port.geocode("서울 강남구 테헤란로 152")
    assert kakao.requests == []


def test_the_key_never_appears_in_errors(kakao: FakeKakao) -> None:
    secret = "sk-wrong-kakao-key-0123456789"

    with pytest.raises(PermanentError) as caught:
        geocoder(kakao, key=secret).geocode("서울 강남구 테헤란로 152")

    assert "AccessDeniedError" in str(caught.value)
    assert secret in str(kakao.requests[0]["headers"])  # sent, and echoed back by Kakao's error message...
    for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__), repr(caught.value.__context__)):
        assert secret not in text  # ...but never kept in the error
