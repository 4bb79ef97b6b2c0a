"""Which 시군구 a district-scoped subagent (``bulk_waste``, ``collection_point``) answers for.

A district named in the message (or carried over from an earlier turn as the ``district`` hint) always
wins. Without one, the user's shared position is turned into its 시군구 by a ``RegionLookupPort`` (Kakao's
coord2regioncode, when ``KAKAO_REST_API_KEY`` is set), and the answer says which district it assumed. A
position also settles an ambiguous name ("중구" where the user stands in 서울 중구) or a 시도 named alone
("부산" from a point in 부산 중구), never overrides what was named.

The lookup gets :data:`REGION_BUDGET_S` of the subagent's time limit: a late, failing or refused lookup
(Kakao down, its breaker open, a refused key) leaves the subagent asking for the district, as without a
position, and never fails the answer.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from eco2.domain.districts import District, DistrictResolution, resolve_district, resolve_in
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import SubagentQuery
from eco2.errors import UpstreamError
from eco2.ports.geo import Region, RegionLookupPort
from eco2.subagents.context import SubagentContext

log = logging.getLogger(__name__)

REGION_BUDGET_S = 2.0
"""Wall-clock budget of the region lookup, so lookup + the district's own search fit the subagent's limit
(``bulk_waste``: 8 s = 2 s + one MOIS call of at most ``ECO2_UPSTREAM_TIMEOUT_S``, 5 s by default)."""


@dataclass(frozen=True, slots=True)
class Located:
    """The district a query is about, and the region it was taken from when it came from the position."""

    resolution: DistrictResolution
    region: Region | None = None
    """Set when the district was assumed from the user's position."""

    @property
    def district(self) -> District | None:
        """The one district meant, if any."""
        return self.resolution.district

    @property
    def source(self) -> str:
        """``message`` or ``user_location`` (for ``data``), empty without a district."""
        if self.resolution.district is None:
            return ""
        return "user_location" if self.region is not None else "message"

    def assumed(self) -> str:
        """The sentence saying which district was assumed from the position (empty when it was named)."""
        if self.region is None:
            return ""
        return f"보내주신 위치({self.region.label}) 기준으로 찾았어요. 다른 지역이면 구·군 이름을 알려주세요."


def district_of(region: Region) -> District | None:
    """The district of a region (``서울특별시 강남구``, ``경기도 수원시 영통구``, ``세종특별자치시``)."""
    return resolve_district(" ".join(part for part in (region.sido, region.sigungu) if part)).district


def locate(query: SubagentQuery, regions: RegionLookupPort | None) -> Located:
    """The district of ``query``: named, else from the user's position when ``regions`` can tell it."""
    resolution = resolve_in(query.hints.get("district", ""), query.message)
    if resolution.district is not None or query.user_location is None or regions is None:
        return Located(resolution)
    region = _lookup(regions, query.user_location)
    here = district_of(region) if region is not None else None
    if region is None or here is None:
        return Located(resolution)
    if resolution.candidates and here not in resolution.candidates:
        return Located(resolution)  # "중구" while standing in 강남구: still ask which 중구
    if resolution.sido and here.sido != resolution.sido:
        return Located(resolution)
    return Located(DistrictResolution(district=here), region)


def _lookup(regions: RegionLookupPort, point: GeoPoint) -> Region | None:
    """The region at ``point`` within the budget; ``None`` on an upstream failure or a late answer (logged)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="region")
    future = pool.submit(regions.region_at, point)
    pool.shutdown(wait=False)  # a late answer is dropped; its call ends on the upstream timeout
    try:
        return future.result(timeout=REGION_BUDGET_S)
    except FutureTimeout:
        log.warning("region lookup took longer than %.1f s: asking for the district", REGION_BUDGET_S)
    except UpstreamError as exc:
        log.warning("region lookup failed: %s", exc)
    return None


def region_lookup(ctx: SubagentContext) -> RegionLookupPort | None:
    """Kakao's region lookup when ``KAKAO_REST_API_KEY`` is set (imported lazily: only needed then)."""
    if ctx.settings.kakao_api_key is None:
        return None
    from eco2.adapters.kakao.geocoder import kakao_region_lookup

    return kakao_region_lookup(ctx.settings, ctx.breakers)
