"""The ``location`` subagent: nearby recycling centres, zero-waste shops, refill stations... on Kakao Local.

How a message becomes a search (see ``query.py`` beside this module):

- a place named in the message ("강남역 재활용센터") is searched by keyword, region first, in Kakao's
  accuracy order; the user's position, when known, only adds each place's distance;
- otherwise the user's position is the centre: places within 5 km, nearest first, widened once to
  Kakao's 20 km maximum when nothing is that close (recycling centres are sparse outside cities);
- with neither, the subagent cannot search and asks where (``needs_input``, field ``location``).

The summary lists the nearest few places with distance, road address, phone and Kakao Map link, so the
offline composer can print it as the answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from eco2.adapters.kakao.client import KakaoLocal
from eco2.adapters.kakao.responses import Place, PlaceSearch
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.location.query import PlaceQuery, parse_message
from eco2.subagents.unavailable import NotConfigured

NAME = "location"
NEARBY_RADIUS_M = 5_000
WIDE_RADIUS_M = 20_000
SHOWN = 5
"""Places listed in the answer (Kakao sends at most 15 per page)."""
ATTRIBUTION = "출처: 카카오 로컬 API(카카오맵 장소 정보)"
DETAILS_NOTE = (
    "영업시간·휴무일·주차 같은 정보는 카카오 로컬 검색 결과에 없어요. 장소 링크(카카오맵)나 전화로 확인해 주세요."
)


def build(ctx: SubagentContext) -> SubagentPort:
    """Kakao place search with ``KAKAO_REST_API_KEY``, else "not configured" at once (no I/O either way)."""
    client = KakaoLocal.from_settings(ctx.settings, ctx.breakers)
    if client is None:
        return NotConfigured(NAME, "KAKAO_REST_API_KEY is not set")
    return KakaoLocation(client)


def josa(word: str, after_consonant: str, after_vowel: str) -> str:
    """The particle ``word``'s last syllable takes: 고물상을/재활용센터를, 약국으로/센터로 (ㄹ also takes 로)."""
    last = next((c for c in reversed(word) if "가" <= c <= "힣"), "")
    final = (ord(last) - ord("가")) % 28 if last else 0
    if final == 0 or (final == 8 and after_consonant == "으로"):  # 8 = ㄹ
        return after_vowel
    return after_consonant


def distance_text(metres: int) -> str:
    """``350m`` or ``1.2km``."""
    return f"{round(metres, -1)}m" if metres < 1000 else f"{metres / 1000:.1f}km"


def _place_lines(n: int, place: Place, from_user: bool) -> list[str]:
    head = f"{n}. {place.name}"
    if place.distance_m is not None:
        head += f" ({'현재 위치에서 ' if from_user else ''}약 {distance_text(place.distance_m)})"
    kind = place.category.rsplit(">", 1)[-1].strip()
    if kind:
        head += f" · {kind}"
    details = [place.road_address or place.address]
    if place.phone:
        details.append(f"☎ {place.phone}")
    if place.url:
        details.append(place.url)
    return [head, "   " + " · ".join(d for d in details if d)]


class KakaoLocation:
    """Implements ``SubagentPort`` for ``location`` on a :class:`KakaoLocal` client."""

    def __init__(self, client: KakaoLocal) -> None:
        self._client = client

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Find the places the message asks for, or ask where to look."""
        place = parse_message(query.message, query.hints.get("item"))
        center = query.user_location
        if place.region is not None:
            # A named place wins over the user's position, which then only adds distances.
            found = self._client.search_keyword(place.keyword, center=center, category=place.kind.category, size=SHOWN)
            return _result(place, found, None, from_user=center is not None)
        if center is None:
            return _ask_location(place)
        for radius in (NEARBY_RADIUS_M, WIDE_RADIUS_M):
            found = self._nearby(place, center, radius)
            if found.places:
                break
        return _result(place, found, radius, from_user=False)

    def _nearby(self, place: PlaceQuery, center: GeoPoint, radius_m: int) -> PlaceSearch:
        kind = place.kind
        if kind.category_only and kind.category:
            return self._client.search_category(kind.category, center, radius_m, size=SHOWN)
        return self._client.search_keyword(
            kind.query, center=center, radius_m=radius_m, category=kind.category, sort="distance", size=SHOWN
        )


def _ask_location(place: PlaceQuery) -> SubagentResult:
    label = place.kind.label
    prompt = (
        f"어느 지역의 {label}{josa(label, '을', '를')} 찾아 드릴까요? 동네 이름이나 가까운 역"
        f"(예: '강남역 {place.kind.query}')을 알려주시거나, 위치 공유를 허용해 주시면 가까운 순으로 알려드릴게요."
    )
    summary = prompt if not place.kind.note else f"{prompt}\n※ {place.kind.note}"
    return SubagentResult(NAME, ResultStatus.NEEDS_INPUT, summary=summary, data={"field": "location", "prompt": prompt})


def _where(place: PlaceQuery, radius: int | None) -> str:
    if radius is None:
        return f"카카오맵에서 '{place.keyword}'{josa(place.keyword, '으로', '로')} 검색한"
    return f"현재 위치에서 {radius // 1000}km 안의"


def _result(place: PlaceQuery, found: PlaceSearch, radius: int | None, from_user: bool) -> SubagentResult:
    """``radius`` is ``None`` for a search by named region; ``from_user``: distances are from the user."""
    label = place.kind.label
    lines: list[str] = []
    if place.guessed:
        lines.append(f"찾으시는 장소를 정확히 알 수 없어 {label}{josa(label, '을', '를')} 찾아봤어요.")
    same = found.same_name
    if same is not None and same.ambiguous and same.selected_region:
        named = place.region or same.keyword
        lines.append(
            f"'{named}'{josa(named, '이', '가')} 여러 곳에 있어 "
            f"'{same.selected_region}' 기준으로 찾았어요. 다른 곳이라면 시·구 이름과 함께 다시 물어봐 주세요"
            f" (후보: {', '.join(same.regions[:4])})."
        )
    places = found.places[:SHOWN]
    if places:
        if radius == WIDE_RADIUS_M:
            lines.append(f"현재 위치 {NEARBY_RADIUS_M // 1000}km 안에는 없어 {WIDE_RADIUS_M // 1000}km까지 넓혔어요.")
        order = "가까운 순" if radius is not None else "정확도 순"
        lines.append(
            f"{_where(place, radius)} {label} {len(places)}곳이에요 ({order}, 검색 결과 전체 {found.total_count}곳)."
        )
        for n, item in enumerate(places, start=1):
            lines.extend(_place_lines(n, item, from_user))
    else:
        lines.append(
            f"{_where(place, radius)} {label}{josa(label, '을', '를')} 찾지 못했어요. "
            "동네 이름이나 가까운 역 이름을 함께 알려주시면 다시 찾아볼게요."
        )
    if place.kind.note:
        lines.append(f"※ {place.kind.note}")
    if place.asks_details and places:
        lines.append(f"※ {DETAILS_NOTE}")
    lines.append(ATTRIBUTION)
    return SubagentResult(
        NAME,
        ResultStatus.OK if places else ResultStatus.EMPTY,
        summary="\n".join(lines),
        data=_data(place, found, radius, places),
        sources=_sources(place, places),
    )


def _data(place: PlaceQuery, found: PlaceSearch, radius: int | None, places: tuple[Place, ...]) -> dict[str, Any]:
    same = found.same_name
    return {
        "keyword": place.keyword,
        "kind": place.kind.label,
        "category_group_code": place.kind.category,
        "center": "region" if radius is None else "user",
        "radius_m": radius,
        "guessed": place.guessed,
        "total_count": found.total_count,
        "same_name": (
            {"regions": list(same.regions), "keyword": same.keyword, "selected_region": same.selected_region}
            if same is not None
            else None
        ),
        "places": [p.to_dict() for p in places],
    }


def _sources(place: PlaceQuery, places: tuple[Place, ...]) -> tuple[Source, ...]:
    search = Source(f"카카오맵 검색: {place.keyword}", f"https://map.kakao.com/link/search/{quote(place.keyword)}")
    return (*(Source(f"카카오맵: {p.name}", p.url) for p in places if p.url), search)
