"""``GeocoderPort`` and ``RegionLookupPort`` (eco2/ports/geo.py).

Run against the Kakao adapters through the real client on the local fake of ``dapi.kakao.com``, the
keyless geocoder the factory returns without ``KAKAO_REST_API_KEY``, and the ``FakeGeocoder`` that the
collection-point unit tests use in Kakao's place. Each answers with a point (or region), ``None`` when there
is none, or one of the upstream errors, never anything else; the same implementations pointed at an upstream
that is down must fail with those errors too.
"""

from __future__ import annotations

import math

import pytest

from eco2.adapters.kakao.client import KakaoLocal
from eco2.adapters.kakao.geocoder import KakaoGeocoder, KakaoRegionLookup, UnconfiguredGeocoder, kakao_geocoder
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.localrun import free_port
from eco2.ports.geo import GeocoderPort, Region, RegionLookupPort
from tests.contract.conftest import implementation, traits_of
from tests.support import fake_kakao
from tests.support.fake_kakao import FakeKakao
from tests.unit.test_odcloud_collection_point import FakeGeocoder

UPSTREAM_ERRORS = (RetryableError, PermanentError, NotConfiguredError)


def _kakao_client(base_url: str) -> KakaoLocal:
    settings = Settings(kakao_api_key=Secret(fake_kakao.KEY), kakao_base_url=base_url, upstream_timeout_s=2.0)
    client = KakaoLocal.from_settings(settings, Breakers(fail_max=1000))
    assert client is not None
    return client


def _on_fake(request: pytest.FixtureRequest) -> KakaoLocal:
    server: FakeKakao = request.getfixturevalue("fake_kakao")
    return _kakao_client(server.base_url)


def _down(_request: pytest.FixtureRequest) -> KakaoLocal:
    return _kakao_client(f"http://127.0.0.1:{free_port()}")  # nothing listens there


GEOCODERS = [
    implementation(KakaoGeocoder, lambda request: KakaoGeocoder(_on_fake(request)), known="서울 강남구 테헤란로 152"),
    implementation(UnconfiguredGeocoder, lambda _request: kakao_geocoder(Settings(), Breakers()), known=None),
    implementation(FakeGeocoder, known="서울특별시 강남구 역삼로 310"),
]
"""Trait ``known``: an address the implementation's world (its fake upstream's data) knows; ``None`` for one
with no upstream at all, which answers every address with ``NotConfiguredError``."""
WITH_UPSTREAM = [p for p in GEOCODERS if p.values[0].traits["known"]]
GEOCODERS_DOWN = [
    implementation(KakaoGeocoder, lambda request: KakaoGeocoder(_down(request)), variant="down"),
    implementation(UnconfiguredGeocoder, lambda _request: kakao_geocoder(Settings(), Breakers())),
    implementation(
        FakeGeocoder, lambda _request: FakeGeocoder(fail=frozenset({"서울 강남구 테헤란로 152"})), variant="down"
    ),
]
REGION_LOOKUPS = [implementation(KakaoRegionLookup, lambda request: KakaoRegionLookup(_on_fake(request)))]
REGION_LOOKUPS_DOWN = [
    implementation(KakaoRegionLookup, lambda request: KakaoRegionLookup(_down(request)), variant="down"),
]

ODD_ADDRESSES = {
    "empty": "",
    "blank": "   ",
    "unknown": "서울 없는구 없는로 1",
    "emoji": "🏠📍",
    "latin": "1600 Amphitheatre Parkway",
    "long": "서울 강남구 테헤란로 " * 200,
    "markup": "<b>서울</b> & 강남구 ?query=1#x",
}


@pytest.fixture(params=GEOCODERS)
def geocoder(request: pytest.FixtureRequest) -> GeocoderPort:
    port: GeocoderPort = request.param(request)
    return port


@pytest.fixture(params=WITH_UPSTREAM)
def geocoder_with_upstream(request: pytest.FixtureRequest) -> GeocoderPort:
    port: GeocoderPort = request.param(request)
    return port


@pytest.fixture(params=GEOCODERS_DOWN)
def geocoder_down(request: pytest.FixtureRequest) -> GeocoderPort:
    port: GeocoderPort = request.param(request)
    return port


@pytest.fixture(params=REGION_LOOKUPS)
def regions(request: pytest.FixtureRequest) -> RegionLookupPort:
    port: RegionLookupPort = request.param(request)
    return port


@pytest.fixture(params=REGION_LOOKUPS_DOWN)
def regions_down(request: pytest.FixtureRequest) -> RegionLookupPort:
    port: RegionLookupPort = request.param(request)
    return port


def in_korea(point: GeoPoint) -> bool:
    return 33.0 <= point.latitude <= 38.7 and 124.5 <= point.longitude <= 132.0


# -- GeocoderPort -------------------------------------------------------------------------------------------
def test_a_known_address_has_its_coordinates(request: pytest.FixtureRequest, geocoder: GeocoderPort) -> None:
    address = traits_of(request, "geocoder")["known"]
    if address is None:  # an implementation with no upstream: it says so, as any unconfigured upstream does
        with pytest.raises(NotConfiguredError):
            geocoder.geocode("서울 강남구 테헤란로 152")
        return
    point = geocoder.geocode(address)
    assert isinstance(point, GeoPoint)
    assert all(isinstance(v, float) and math.isfinite(v) for v in (point.latitude, point.longitude))
    assert in_korea(point)
    assert geocoder.geocode(address) == point  # asked again: the same answer


@pytest.mark.parametrize("address", list(ODD_ADDRESSES.values()), ids=list(ODD_ADDRESSES))
def test_any_string_gets_a_point_none_or_an_upstream_error(geocoder: GeocoderPort, address: str) -> None:
    try:
        point = geocoder.geocode(address)
    except UPSTREAM_ERRORS:
        return
    assert point is None or (isinstance(point, GeoPoint) and in_korea(point))


def test_an_address_nobody_knows_is_none_not_an_error(geocoder_with_upstream: GeocoderPort) -> None:
    assert geocoder_with_upstream.geocode("서울 없는구 없는로 1") is None


def test_an_upstream_that_is_down_raises_an_upstream_error(geocoder_down: GeocoderPort) -> None:
    with pytest.raises(UPSTREAM_ERRORS):
        geocoder_down.geocode("서울 강남구 테헤란로 152")


# -- RegionLookupPort ---------------------------------------------------------------------------------------
def test_the_region_at_a_point_names_sido_sigungu_and_dong(regions: RegionLookupPort) -> None:
    region = regions.region_at(GeoPoint(*fake_kakao.YEOKSAM))
    assert isinstance(region, Region)
    assert (region.sido, region.sigungu, region.dong) == ("서울특별시", "강남구", "역삼동")
    assert region.label == "서울특별시 강남구 역삼동"
    assert region.code == "" or (len(region.code) == 10 and region.code.isdigit())
    assert regions.region_at(GeoPoint(*fake_kakao.YEOKSAM)) == region


def test_a_region_without_sigungu_has_a_label_without_gaps(regions: RegionLookupPort) -> None:
    region = regions.region_at(GeoPoint(36.5040, 127.2650))  # 세종: no 시군구
    assert region is not None
    assert region.sigungu == ""
    assert "  " not in region.label
    assert region.label.startswith("세종특별자치시")


def test_a_point_in_no_region_is_none(regions: RegionLookupPort) -> None:
    assert regions.region_at(GeoPoint(*fake_kakao.OPEN_SEA)) is None


@pytest.mark.parametrize(
    "point",
    [GeoPoint(0.0, 0.0), GeoPoint(90.0, 180.0), GeoPoint(-33.86, 151.2), GeoPoint(37.50061234567, 127.03641234567)],
    ids=["null-island", "pole", "abroad", "many-decimals"],
)
def test_any_point_gets_a_region_none_or_an_upstream_error(regions: RegionLookupPort, point: GeoPoint) -> None:
    try:
        region = regions.region_at(point)
    except UPSTREAM_ERRORS:
        return
    assert region is None or isinstance(region, Region)


def test_a_region_lookup_whose_upstream_is_down_raises_an_upstream_error(regions_down: RegionLookupPort) -> None:
    with pytest.raises(UPSTREAM_ERRORS):
        regions_down.region_at(GeoPoint(*fake_kakao.YEOKSAM))
