"""The ``collection_point`` subagent: where to drop off batteries, phones, small appliances... near the user.

It filters KECO's collection-point dataset (odcloud) by the kind of item and the 시군구 named in the
message, else the 시군구 at the user's position (``eco2.subagents.district``, with Kakao; the answer says
which it assumed). The dataset has no coordinates, so with the user's location and a geocoder (Kakao,
when its key is set) the candidates are geocoded within a time budget and the nearest few are shown with
their distance; without either, the matches are listed as they are. Without a district it asks for one.

Without an odcloud key it still answers (:func:`typical_places`, no I/O): where each kind of item is
usually collected, and which setting enables the search for bins.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from math import asin, cos, radians, sin, sqrt
from typing import Any

from eco2.domain.districts import UNLOCATED_NOTE, District, candidate_names, canonical_sido, resolve_in, same_sido
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import UpstreamError
from eco2.ports.geo import GeocoderPort, RegionLookupPort
from eco2.ports.subagents import SubagentPort
from eco2.subagents.collection_point.keco import DATASET_URL, CollectionPoint, KecoCollectionPoints
from eco2.subagents.collection_point.odcloud import OdcloudClient
from eco2.subagents.context import SubagentContext
from eco2.subagents.district import Located, locate, region_lookup
from eco2.subagents.unavailable import NotConfigured

log = logging.getLogger(__name__)

NAME = "collection_point"
SHOWN = 5
MAX_GEOCODE = 12
"""Candidates geocoded per query (each is one Kakao call, cached per process)."""
GEOCODE_BUDGET_S = 2.5
"""Wall-clock budget for geocoding, so search + geocoding stay inside the subagent's time limit."""
FREE_PICKUP = (
    "냉장고·세탁기·에어컨·TV 같은 대형 가전은 폐가전 무상방문수거(1599-0903, https://www.15990903.or.kr)를 이용하세요."
)
SETTING = "KECO_API_KEY"
"""The setting that enables the bin search (``DATA_GO_KR_SERVICE_KEY`` serves too)."""
WITHOUT_KEY = (
    f"구·군별 수거 장소는 {SETTING}(또는 DATA_GO_KR_SERVICE_KEY, 공공데이터포털 한국환경공단 폐전자제품 "
    "수거함 위치정보 활용신청)를 설정하면 찾아 드릴 수 있어요."
)


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of item, the ``수거종류 LIKE`` term for it, and where it goes when no bin is listed."""

    label: str
    term: str
    aliases: tuple[str, ...]
    elsewhere: str


def _aliases(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


KINDS = (
    Kind("폐휴대폰", "휴대폰", _aliases("휴대폰,핸드폰,스마트폰,휴대전화,아이폰,갤럭시"),
         "주민센터 수거함이나 휴대폰 대리점, 민팃 ATM에 반납할 수 있어요."),
    Kind("중소형 폐가전", "가전",
         _aliases("소형가전,소형 가전,폐가전,가전,드라이기,드라이어,전기밥솥,밥솥,선풍기,청소기,다리미,전자레인지,"
                  "믹서기,노트북,태블릿,충전기,공유기,키보드,모니터"),
         "소형 가전 5개 이상이면 폐가전 무상방문수거(1599-0903)로 무료 수거돼요."),
    Kind("폐건전지", "건전지", _aliases("폐건전지,건전지,보조배터리,배터리"),
         "주민센터와 아파트 단지의 폐건전지·폐형광등 수거함에 넣어 주세요."),
    Kind("폐형광등", "형광등", _aliases("폐형광등,형광등,전구"),
         "깨지지 않게 주민센터나 아파트 단지의 폐형광등 수거함에 넣어 주세요."),
    Kind("폐의약품", "의약품", _aliases("폐의약품,의약품,알약,물약,가루약,연고,안약,감기약,남은 약,먹던 약"),
         "약국·보건소·주민센터의 폐의약품 수거함에 내고, 서울 등 일부 지역은 우체통에도 넣을 수 있어요."),
    Kind("의류", "의류", _aliases("헌옷,헌 옷,의류,옷,신발"),
         "가까운 의류수거함에 넣어 주세요. 젖거나 오염된 옷은 종량제봉투로 버려요."),
)  # fmt: skip
_SOURCES = (Source("한국환경공단 폐전자제품 수거함 위치정보 (공공데이터포털)", DATASET_URL),)
_NEIGHBOURHOOD = re.compile(r"([가-힣]{1,6}\d?(?:동|읍|면))(?:에서|에|의|근처|쪽)?$")
_NOT_NEIGHBOURHOODS = frozenset({"이동", "자동", "수동", "활동", "행동", "운동", "방면", "측면", "전면", "표면"})


def find_kind(text: str) -> Kind | None:
    """The kind named in ``text`` (longest alias wins: "보조배터리" before "배터리")."""
    pairs = sorted(((alias, kind) for kind in KINDS for alias in kind.aliases), key=lambda p: -len(p[0]))
    return next((kind for alias, kind in pairs if alias in text), None)


def neighbourhoods(text: str) -> list[str]:
    """동/읍/면 names in ``text`` ("역삼동 근처" -> ["역삼동"]): used to rank, never to exclude."""
    found = []
    for token in re.split(r"[\s,.!?]+", text):
        match = _NEIGHBOURHOOD.fullmatch(token) or _NEIGHBOURHOOD.search(token)
        if match and match.group(1) not in _NOT_NEIGHBOURHOODS and len(match.group(1)) >= 2:
            found.append(match.group(1))
    return found


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in kilometres."""
    lat1, lon1, lat2, lon2 = map(radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * asin(sqrt(h))


class CollectionPointFinder:
    """Implements ``SubagentPort`` for ``collection_point``."""

    def __init__(
        self,
        points: KecoCollectionPoints,
        geocoder: GeocoderPort | None = None,
        regions: RegionLookupPort | None = None,
    ) -> None:
        self._points = points
        self._geocoder = geocoder
        self._regions = regions

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Search the district for the kind of item; rank by distance when the location is known."""
        kind = find_kind(f"{query.hints.get('item', '')} {query.message}")
        located = locate(query, self._regions)
        resolution = located.resolution
        district = resolution.district
        if district is None:
            return self._ask(resolution.candidates, resolution.sido, kind, query.user_location is not None)
        page = self._points.search(kind.term if kind else "", district.gu or district.query_name)
        points = [p for p in page.points if _in_sido(p.address, district)]
        stems = [n.rstrip("동읍면").rstrip("0123456789") for n in neighbourhoods(query.message)]
        points.sort(key=lambda p: not any(s in f"{p.address} {p.name}" for s in stems if len(s) >= 2))
        data: dict[str, Any] = {
            "district": district.label,
            "kind": kind.label if kind else "",
            "matches": len(points),
            "district_from": located.source,
            "region": located.region.label if located.region else "",
        }
        if not points:
            summary = _assumed(located, _nothing(district, kind))
            return SubagentResult(NAME, ResultStatus.EMPTY, summary=summary, data=data, sources=_SOURCES)
        ranked, distances = self._rank(points, query.user_location)
        shown = ranked[:SHOWN]
        data["points"] = [
            {**p.to_dict(), "distance_km": round(d, 2) if (d := distances.get(p.address)) is not None else None}
            for p in shown
        ]
        data["geocoded"] = sum(1 for p in points if distances.get(p.address) is not None)
        summary = _summary(district, kind, len(points), shown, distances, query.user_location is not None)
        return SubagentResult(NAME, ResultStatus.OK, summary=_assumed(located, summary), data=data, sources=_SOURCES)

    def _ask(self, candidates: tuple[District, ...], sido: str, kind: Kind | None, located: bool) -> SubagentResult:
        what = f"{kind.label} 수거함" if kind else "수거함"
        if candidates:
            question = (
                f"말씀하신 지역이 여러 곳({candidate_names(candidates)})에 있어요. "
                f"어느 시·도인지 알려주시면 {what} 위치를 찾아 드릴게요."
            )
        elif sido:
            question = f"{sido}의 어느 구·군에서 찾을까요? 예: '{sido[:2]} ○○구 {what}'"
        else:
            question = f"어느 시·군·구에서 {what} 위치를 찾을까요? 예: '강남구 폐건전지 수거함', '수원시 폐휴대폰'"
            if located:
                question += UNLOCATED_NOTE
        data = {"missing": "district", "kind": kind.label if kind else "", "candidates": [c.label for c in candidates]}
        return SubagentResult(NAME, ResultStatus.NEEDS_INPUT, summary=question, data=data)

    def _rank(
        self, points: list[CollectionPoint], origin: GeoPoint | None
    ) -> tuple[list[CollectionPoint], dict[str, float]]:
        """Nearest first when the origin and a geocoder exist; otherwise the dataset's order."""
        if origin is None or self._geocoder is None:
            return points, {}
        coords = self._geocode([p.address for p in points[:MAX_GEOCODE]])
        distances = {a: haversine_km(origin, c) for a, c in coords.items() if c is not None}
        located = sorted((p for p in points if p.address in distances), key=lambda p: distances[p.address])
        return located + [p for p in points if p.address not in distances], distances

    def _geocode(self, addresses: list[str]) -> dict[str, GeoPoint | None]:
        """Geocode unique addresses in parallel within :data:`GEOCODE_BUDGET_S`; failures leave gaps.

        The geocoder caches (Kakao's keeps a per-process LRU); a failed or late address just has no distance.
        """
        if self._geocoder is None:
            return {}
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="geocode")
        futures = {pool.submit(self._geocoder.geocode, a): a for a in dict.fromkeys(addresses)}
        done, _ = wait(futures, timeout=GEOCODE_BUDGET_S)
        pool.shutdown(wait=False, cancel_futures=True)  # late answers are dropped; their calls end on timeout
        result: dict[str, GeoPoint | None] = {}
        for future in done:
            error = future.exception()
            if error is None:
                result[futures[future]] = future.result()
            elif isinstance(error, UpstreamError):
                log.warning("geocoding failed: %s", error)
            else:
                log.warning("geocoder crashed: %s", type(error).__name__)
        return result


def typical_places(query: SubagentQuery) -> SubagentResult:
    """Without an odcloud key: where the kind of item usually goes (every kind when none is named).

    ``ok`` with ``data["source"] == "typical"``: general guidance, no I/O; the summary names the key to set.
    """
    kind = find_kind(f"{query.hints.get('item', '')} {query.message}")
    district = resolve_in(query.hints.get("district", ""), query.message).district
    office = f"{district.short_label}청이나 주민센터" if district else "구청이나 주민센터"
    if kind is not None:
        lines = [f"[{kind.label} 버리는 곳(일반 안내)]", f"- {kind.elsewhere}"]
    else:
        lines = ["[수거함 일반 안내]", *(f"- {k.label}: {k.elsewhere}" for k in KINDS)]
    lines.append(f"- 수거함이 어디 있는지는 {office}에서 안내받을 수 있어요.")
    if kind is None or kind.term == "가전":
        lines.append(f"※ {FREE_PICKUP}")
    lines.append(WITHOUT_KEY)
    data = {
        "source": "typical",
        "setting": SETTING,
        "kind": kind.label if kind else "",
        "district": district.label if district else "",
    }
    return SubagentResult(NAME, ResultStatus.OK, summary="\n".join(lines), data=data)


def _assumed(located: Located, summary: str) -> str:
    """``summary`` led by the sentence naming the district assumed from the position, if it was."""
    return "\n".join(part for part in (located.assumed(), summary) if part)


def _in_sido(address: str, district: District) -> bool:
    """Whether an address lies in the district's 시도 (addresses start with the 시도, spelled any way)."""
    head = address.split(" ", 1)[0]
    return canonical_sido(head) is None or same_sido(head, district.sido)


def _nothing(district: District, kind: Kind | None) -> str:
    what = kind.label if kind else "폐전자제품"
    lines = [f"{district.label}에서 {what} 수거 장소를 한국환경공단 수거함 데이터에서 찾지 못했어요."]
    if kind:
        lines.append(kind.elsewhere)
    lines.append(
        "이 데이터는 주로 폐휴대폰·중소형 폐가전 수거함을 담고 있어요. 자세한 위치는 구청·주민센터에 문의하세요."
    )
    return "\n".join(lines)


def _summary(
    district: District,
    kind: Kind | None,
    total: int,
    shown: list[CollectionPoint],
    distances: dict[str, float],
    has_origin: bool,
) -> str:
    what = kind.label if kind else "폐휴대폰·소형가전"
    order = "현재 위치에서 가까운 순이에요." if distances else ""
    if has_origin and not distances:
        order = "위치로 거리를 계산하지 못해 데이터 순서대로 보여 드려요."
    lines = [f"[{district.label} {what} 수거 장소] 한국환경공단 데이터에서 {total}곳을 찾았어요. {order}".rstrip()]
    for n, point in enumerate(shown, start=1):
        parts = [f"{n}. {point.name or '수거 장소'}" + (f" ({point.place_type})" if point.place_type else "")]
        if point.address in distances:
            parts.append(f"약 {distances[point.address]:.1f}km")
        parts.append(point.address)
        if point.kinds:
            parts.append("수거: " + ", ".join(point.kinds))
        if point.fee:
            parts.append(point.fee)
        lines.append(" · ".join(parts))
    lines.append("※ 수거함 위치와 운영 여부는 바뀔 수 있으니 방문 전에 확인하세요. " + FREE_PICKUP)
    lines.append("(출처: 한국환경공단 폐전자제품 수거함 위치정보, 공공데이터포털)")
    return "\n".join(lines)


def build(ctx: SubagentContext) -> SubagentPort:
    """odcloud needs a portal key (``KECO_API_KEY``, else the data.go.kr key); Kakao (distances, the district
    at the user's position) is optional. Without a portal key: the typical answer at once, no I/O."""
    key = ctx.settings.keco_api_key or ctx.settings.data_go_kr_key
    if key is None:
        return NotConfigured(NAME, f"{SETTING} (or DATA_GO_KR_SERVICE_KEY) is not set", known=typical_places)
    points = KecoCollectionPoints(OdcloudClient(ctx.http("odcloud", ctx.settings.odcloud_base_url), key))
    return CollectionPointFinder(points, _kakao_geocoder(ctx), region_lookup(ctx))


def _kakao_geocoder(ctx: SubagentContext) -> GeocoderPort | None:
    """Kakao's geocoder when its key exists (imported lazily: the adapter is only needed then)."""
    if ctx.settings.kakao_api_key is None:
        return None
    from eco2.adapters.kakao.geocoder import kakao_geocoder

    return kakao_geocoder(ctx.settings, ctx.breakers)
