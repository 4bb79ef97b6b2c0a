"""The Kakao Local REST client on ``dapi.kakao.com``: keyword, category and address search, the region at a point.

Every call goes through one :class:`HttpUpstream` named ``kakao`` (its timeout, its breaker, its error
tree). The REST API key travels only in the ``Authorization: KakaoAK {key}`` header, built per call.

Kakao explains a refusal in the body (``{"errorType": ..., "message": ...}``), which ``HttpUpstream`` does
not read: the upstream's session carries a requests response hook that turns a non-2xx Kakao response
into eco2's error tree *inside* the breaker call, so throttling (429) still counts against the breaker
while a refused key (401) or a disabled Kakao Map product (403) does not.
"""

from __future__ import annotations

from typing import Any, Literal

import requests

from eco2.adapters.http.upstream import HttpUpstream
from eco2.adapters.kakao.responses import (
    UPSTREAM,
    AddressSearch,
    PlaceSearch,
    RegionDocument,
    error_for,
    parse_address_search,
    parse_place_search,
    parse_regions,
)
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint

Sort = Literal["accuracy", "distance"]

MAX_RADIUS_M = 20_000
"""Kakao's largest search radius."""
MAX_PAGE = 45
MAX_PLACE_PAGE_SIZE = 15
MAX_ADDRESS_PAGE_SIZE = 30

KEYWORD_PATH = "/v2/local/search/keyword.json"
CATEGORY_PATH = "/v2/local/search/category.json"
ADDRESS_PATH = "/v2/local/search/address.json"
REGION_PATH = "/v2/local/geo/coord2regioncode.json"


def _raise_kakao_error(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """requests response hook: a non-2xx answer becomes a classified eco2 error carrying Kakao's errorType."""
    if response.status_code < 400:
        return response
    try:
        body = response.content
    except requests.RequestException:
        body = b""
    finally:
        response.close()
    raise error_for(response.status_code, body)


def kakao_session() -> requests.Session:
    """A session that reads Kakao's error bodies (see the module docstring)."""
    session = requests.Session()
    session.hooks["response"].append(_raise_kakao_error)
    return session


def kakao_upstream(settings: Settings, breakers: Breakers) -> HttpUpstream:
    """The ``kakao`` upstream at ``settings.kakao_base_url`` (what ``ctx.http`` builds, plus the error hook)."""
    return HttpUpstream(UPSTREAM, settings.kakao_base_url, settings.upstream_timeout_s, breakers, kakao_session())


def _center(params: dict[str, Any], center: GeoPoint) -> None:
    params["x"] = f"{center.longitude:.7f}"
    params["y"] = f"{center.latitude:.7f}"


def _paging(params: dict[str, Any], page: int, size: int, max_size: int) -> None:
    if not 1 <= page <= MAX_PAGE or not 1 <= size <= max_size:
        raise ValueError(f"page must be 1..{MAX_PAGE} and size 1..{max_size}")
    params["page"] = page
    params["size"] = size


def _radius(radius_m: int) -> int:
    if not 0 <= radius_m <= MAX_RADIUS_M:
        raise ValueError(f"radius must be 0..{MAX_RADIUS_M} m")
    return radius_m


class KakaoLocal:
    """Kakao Local search (places and addresses) with one REST API key."""

    def __init__(self, upstream: HttpUpstream, api_key: Secret) -> None:
        self._upstream = upstream
        self._key = api_key

    @classmethod
    def from_settings(cls, settings: Settings, breakers: Breakers) -> KakaoLocal | None:
        """A client for ``settings``, or ``None`` without ``KAKAO_REST_API_KEY`` (no I/O either way)."""
        if settings.kakao_api_key is None:
            return None
        return cls(kakao_upstream(settings, breakers), settings.kakao_api_key)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        return self._upstream.get_json(path, params, {"Authorization": f"KakaoAK {self._key.reveal()}"})

    def search_keyword(
        self,
        query: str,
        *,
        center: GeoPoint | None = None,
        radius_m: int | None = None,
        category: str | None = None,
        sort: Sort = "accuracy",
        page: int = 1,
        size: int = MAX_PLACE_PAGE_SIZE,
    ) -> PlaceSearch:
        """Places matching ``query``; with ``center`` each has a distance, ``radius_m`` limits the area."""
        if not query.strip():
            raise ValueError("query must not be empty")
        if (radius_m is not None or sort == "distance") and center is None:
            raise ValueError("radius and distance sort need a center")
        params: dict[str, Any] = {"query": query.strip()}
        if category:
            params["category_group_code"] = category
        if center is not None:
            _center(params, center)
            if radius_m is not None:
                params["radius"] = _radius(radius_m)
        params["sort"] = sort
        _paging(params, page, size, MAX_PLACE_PAGE_SIZE)
        return parse_place_search(self._get(KEYWORD_PATH, params))

    def search_category(
        self,
        category: str,
        center: GeoPoint,
        radius_m: int,
        *,
        sort: Sort = "distance",
        page: int = 1,
        size: int = MAX_PLACE_PAGE_SIZE,
    ) -> PlaceSearch:
        """Places of a category group (``PM9`` 약국, ``CS2`` 편의점, ...) within ``radius_m`` of ``center``."""
        params: dict[str, Any] = {"category_group_code": category}
        _center(params, center)
        params["radius"] = _radius(radius_m)
        params["sort"] = sort
        _paging(params, page, size, MAX_PLACE_PAGE_SIZE)
        return parse_place_search(self._get(CATEGORY_PATH, params))

    def search_address(self, query: str, *, size: int = 1, exact: bool = False) -> AddressSearch:
        """Coordinates of a road-name or lot-number address (``exact``: no building-name widening)."""
        if not query.strip():
            raise ValueError("query must not be empty")
        params: dict[str, Any] = {"query": query.strip(), "analyze_type": "exact" if exact else "similar"}
        _paging(params, 1, size, MAX_ADDRESS_PAGE_SIZE)
        return parse_address_search(self._get(ADDRESS_PATH, params))

    def regions_at(self, point: GeoPoint) -> tuple[RegionDocument, ...]:
        """The 법정동 and 행정동 containing ``point`` (none in the sea or abroad)."""
        params: dict[str, Any] = {}
        _center(params, point)
        return parse_regions(self._get(REGION_PATH, params))
