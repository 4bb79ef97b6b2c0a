"""Kakao Local's response bodies as typed values, and its error bodies as eco2's error tree.

Kakao Local answers every search with ``{"meta": {...}, "documents": [...]}`` where coordinates and
distances are strings (``x`` is the longitude, ``y`` the latitude). A body of the wrong shape is a
permanent "malformed response" error: retrying gets the same body back.

Errors come as ``{"errorType": "...", "message": "..."}`` (older Kakao APIs use ``{"code": -10, "msg":
"..."}``). Only the ``errorType`` (a short CamelCase word) goes into eco2's error messages: Kakao's
``message`` can echo the caller's key (``wrong appKey(...) format``) or IP, so it is never copied.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from eco2.domain.request import GeoPoint
from eco2.errors import PermanentError, RetryableError, UpstreamError
from eco2.ports.geo import Region

UPSTREAM = "kakao"
"""Breaker and metric label of Kakao Local (shared by the place search and the geocoder)."""

_ERROR_TYPE = re.compile(r"[A-Za-z]{1,40}")
_RETRYABLE_TYPES = frozenset({"RequestThrottled", "InternalServerError", "ServiceUnavailable"})
_RETRYABLE_CODES = frozenset({-1, -7, -10})
"""Kakao's common codes: internal error, service under maintenance, quota exceeded."""
_HINTS = {
    401: "the REST API key was refused",
    403: "Kakao Map/Local is not enabled for this app, or the caller is not allowed",
    429: "rate limit or daily quota exceeded",
}


@dataclass(frozen=True, slots=True)
class Place:
    """One place of a keyword or category search."""

    id: str
    name: str
    category: str
    """Full category path, e.g. ``가정,생활 > 재활용센터``."""
    category_group_code: str
    """One of Kakao's 18 group codes (``PO3`` 공공기관, ``PM9`` 약국, ...) or empty."""
    phone: str
    address: str
    """Lot-number address (지번)."""
    road_address: str
    """Road-name address (도로명); empty for some places."""
    point: GeoPoint
    url: str
    """The Kakao Map page of the place."""
    distance_m: int | None
    """Metres from the search centre; only when the search had ``x``/``y``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form for results."""
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "category_group_code": self.category_group_code,
            "phone": self.phone,
            "address": self.address,
            "road_address": self.road_address,
            "latitude": self.point.latitude,
            "longitude": self.point.longitude,
            "url": self.url,
            "distance_m": self.distance_m,
        }


@dataclass(frozen=True, slots=True)
class SameName:
    """Kakao's reading of a region in the query (``meta.same_name``)."""

    regions: tuple[str, ...]
    """Regions the query's place name could mean (several for e.g. ``중앙동``)."""
    keyword: str
    """The query without the region."""
    selected_region: str
    """The region Kakao searched in."""

    @property
    def ambiguous(self) -> bool:
        """Whether the place name matched several regions (Kakao picked one of them)."""
        return len(self.regions) > 1


@dataclass(frozen=True, slots=True)
class PlaceSearch:
    """A page of keyword or category search results."""

    places: tuple[Place, ...]
    total_count: int
    pageable_count: int
    is_end: bool
    same_name: SameName | None = None


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """One document of an address search."""

    address: str
    address_type: str
    """``REGION``, ``ROAD``, ``REGION_ADDR`` or ``ROAD_ADDR`` (the last two are exact addresses)."""
    road_address: str
    point: GeoPoint


@dataclass(frozen=True, slots=True)
class AddressSearch:
    """A page of address search results."""

    matches: tuple[AddressMatch, ...]
    total_count: int


@dataclass(frozen=True, slots=True)
class RegionDocument:
    """One document of ``coord2regioncode``: the 법정동 (``B``) or the 행정동 (``H``) containing the point."""

    region_type: str
    region: Region


def _malformed(why: str) -> PermanentError:
    return PermanentError(f"{UPSTREAM}: malformed response ({why})")


def _envelope(body: Any) -> tuple[dict[str, Any], list[Any]]:
    if not isinstance(body, dict):
        raise _malformed("body is not an object")
    meta, documents = body.get("meta"), body.get("documents")
    if not isinstance(meta, dict):
        raise _malformed("meta is missing")
    if not isinstance(documents, list):
        raise _malformed("documents is not a list")
    return meta, documents


def _int(meta: dict[str, Any], key: str, default: int) -> int:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(f"meta.{key} is not an integer")
    return int(value)


def _text(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    """Kakao documents numbers as strings (sometimes sends numbers): either form, finite only."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _point(doc: dict[str, Any]) -> GeoPoint | None:
    lon, lat = _number(doc.get("x")), _number(doc.get("y"))
    if lon is None or lat is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(lat, lon)


def _documents(documents: list[Any]) -> list[dict[str, Any]]:
    if not all(isinstance(doc, dict) for doc in documents):
        raise _malformed("a document is not an object")
    return documents


def _same_name(raw: Any) -> SameName | None:
    if not isinstance(raw, dict):
        return None
    regions = raw.get("region")
    names = tuple(r for r in regions if isinstance(r, str) and r) if isinstance(regions, list) else ()
    keyword, selected = raw.get("keyword"), raw.get("selected_region")
    return SameName(names, keyword if isinstance(keyword, str) else "", selected if isinstance(selected, str) else "")


def parse_place_search(body: Any) -> PlaceSearch:
    """Parse a keyword/category search body; documents without usable coordinates are skipped."""
    meta, documents = _envelope(body)
    places = []
    for doc in _documents(documents):
        point = _point(doc)
        if point is None:
            continue
        distance = _number(doc.get("distance"))
        places.append(
            Place(
                id=_text(doc, "id"),
                name=_text(doc, "place_name"),
                category=_text(doc, "category_name"),
                category_group_code=_text(doc, "category_group_code"),
                phone=_text(doc, "phone"),
                address=_text(doc, "address_name"),
                road_address=_text(doc, "road_address_name"),
                point=point,
                url=_text(doc, "place_url"),
                distance_m=round(distance) if distance is not None else None,
            )
        )
    return PlaceSearch(
        places=tuple(places),
        total_count=_int(meta, "total_count", len(documents)),
        pageable_count=_int(meta, "pageable_count", len(documents)),
        is_end=bool(meta.get("is_end", True)),
        same_name=_same_name(meta.get("same_name")),
    )


def parse_address_search(body: Any) -> AddressSearch:
    """Parse an address search body; documents without usable coordinates are skipped."""
    meta, documents = _envelope(body)
    matches = []
    for doc in _documents(documents):
        point = _point(doc)
        if point is None:
            continue
        road = doc.get("road_address")
        matches.append(
            AddressMatch(
                address=_text(doc, "address_name"),
                address_type=_text(doc, "address_type"),
                road_address=_text(road, "address_name") if isinstance(road, dict) else "",
                point=point,
            )
        )
    return AddressSearch(tuple(matches), _int(meta, "total_count", len(documents)))


def parse_regions(body: Any) -> tuple[RegionDocument, ...]:
    """Parse a ``coord2regioncode`` body; documents without a 시도 name are skipped.

    Its ``x``/``y`` (the region's centre) are numbers here, not strings, and are not needed.
    """
    _meta, documents = _envelope(body)
    regions = []
    for doc in _documents(documents):
        sido = _text(doc, "region_1depth_name")
        if not sido:
            continue
        region = Region(sido, _text(doc, "region_2depth_name"), _text(doc, "region_3depth_name"), _text(doc, "code"))
        regions.append(RegionDocument(_text(doc, "region_type"), region))
    return tuple(regions)


def error_for(status: int, body: bytes) -> UpstreamError:
    """The eco2 error of a non-2xx Kakao response: retryable for 429, 5xx and "try later" codes."""
    error_type, code = "", None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        raw_type = parsed.get("errorType")
        if isinstance(raw_type, str) and _ERROR_TYPE.fullmatch(raw_type):
            error_type = raw_type
        raw_code = parsed.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    detail = " ".join(p for p in (error_type, f"code {code}" if code is not None else "") if p)
    hint = _HINTS.get(status, "")
    message = f"{UPSTREAM}: HTTP {status}" + (f" {detail}" if detail else "") + (f" ({hint})" if hint else "")
    if status == 429 or status >= 500 or error_type in _RETRYABLE_TYPES or code in _RETRYABLE_CODES:
        return RetryableError(message)
    return PermanentError(message)
