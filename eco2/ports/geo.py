"""Ports for geography: an address to coordinates, and coordinates to the administrative region there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eco2.domain.request import GeoPoint


class GeocoderPort(Protocol):
    """Turns addresses into coordinates (e.g. Kakao Local's address search)."""

    def geocode(self, address: str) -> GeoPoint | None:
        """The coordinates of ``address``, or ``None`` when it cannot be found.

        Raises ``RetryableError``/``PermanentError``/``NotConfiguredError`` like any upstream.
        """
        ...


@dataclass(frozen=True, slots=True)
class Region:
    """The administrative region (법정동 and the 시도/시군구 above it) containing a point."""

    sido: str
    """``서울특별시``."""
    sigungu: str
    """``강남구``, or city and 구 (``수원시 영통구``); empty where there is no 시군구 (세종)."""
    dong: str
    """The 읍/면/동 (``역삼동``); may be empty."""
    code: str = ""
    """The region's 10-digit code (법정동 code), when known."""

    @property
    def label(self) -> str:
        """``서울특별시 강남구 역삼동``."""
        return " ".join(part for part in (self.sido, self.sigungu, self.dong) if part)


class RegionLookupPort(Protocol):
    """Names the region at a point (e.g. Kakao Local's coord2regioncode)."""

    def region_at(self, point: GeoPoint) -> Region | None:
        """The region containing ``point``, or ``None`` when it lies in no known region (the sea, abroad).

        Raises ``RetryableError``/``PermanentError``/``NotConfiguredError`` like any upstream.
        """
        ...
