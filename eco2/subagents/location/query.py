"""What to ask Kakao Local for a Korean chat message: a search keyword, a category code, a named region.

Users write "근처 재활용센터 어디야?", "강남역 제로웨이스트샵 알려줘" or "폐건전지 어디에 버려?". Sending the
whole sentence to the keyword search finds nothing, so the message is read in three steps:

1. **What kind of place** (:data:`TIERS` of :class:`PlaceKind`): place words first ("주민센터", "고물상"),
   then items whose drop-off point is a kind of place ("폐건전지" → 행정복지센터, "폐의약품" → 약국), then
   loose words ("재활용" → 재활용센터). Within a tier the word that comes first in the message wins.
2. **Where**: words that name a region ("강남역", "망원동", "부산 해운대", "near Hongdae"), recognised by
   their ending (역/동/구/시/군/읍, once particles such as 에/인데/이야 are stripped) or a short list of
   well-known names. Kakao itself reads the region out of the keyword (``meta.same_name``), so the
   region is simply put in front of the keyword.
3. **Anything else worth searching**: with no known kind, the first remaining noun-like word is the
   keyword; with nothing at all, 재활용센터 (the app's most common place question) is searched and the
   summary says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from eco2.domain.text import compact


@dataclass(frozen=True, slots=True)
class PlaceKind:
    """A kind of place users ask for and how Kakao finds it best."""

    label: str
    """Korean name shown to the user."""
    query: str
    """Kakao keyword."""
    triggers: tuple[str, ...]
    """Words (lower-case, without spaces) that mean this kind."""
    category: str | None = None
    """Kakao category group code that filters the results (``PO3`` 공공기관, ``PM9`` 약국, ``CS2`` 편의점)."""
    category_only: bool = False
    """The category alone describes the place: search ``category.json`` around the user."""
    note: str = ""
    """Advice that belongs with these places."""


def _kind(label: str, query: str, triggers: str, **options: Any) -> PlaceKind:
    return PlaceKind(label, query, tuple(triggers.split()), **options)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMUNITY = "행정복지센터(주민센터)"
_RECYCLING = _kind(
    "재활용센터",
    "재활용센터",
    "재활용센터 재사용센터 재활용가게 재활용매장 재활용샵 중고가구 중고가전 recyclingcent",
    note="재활용센터는 중고 가구·가전을 사고팔 수 있는 곳이 많아요. 매입 여부는 전화로 먼저 확인해 보세요.",
)
_ZERO_WASTE = _kind(
    "제로웨이스트샵",
    "제로웨이스트샵",
    "제로웨이스트 알맹상점 포장없이 포장재없이 용기들고 무포장 zerowaste 친환경생활용품 수세미 고체치약 대나무칫솔",
)
_PLACES = (
    _RECYCLING,
    _kind("자원순환센터", "자원순환센터", "자원순환센터 자원순환가게 재활용선별장 선별장 에코센터"),
    _kind("자원회수시설", "자원회수시설", "자원회수시설 소각장"),
    _kind("새활용플라자", "새활용플라자", "새활용플라자"),
    _kind("업사이클링 공방·매장", "업사이클링", "업사이클 새활용"),
    _ZERO_WASTE,
    _kind("리필스테이션", "리필스테이션", "리필스테이션 리필샵 리필가게 리필매장 리필 덜어서 refill"),
    _kind(
        "고물상",
        "고물상",
        "고물상 고철상 고철 폐지 스크랩 폐품 scrap",
        note="고철·폐지 매입 단가는 곳마다 달라요. 가져가기 전에 전화로 확인해 보세요.",
    ),
    _kind(
        _COMMUNITY,
        "행정복지센터",
        "주민센터 행정복지센터 동사무소",
        category="PO3",
        note="행정복지센터에서는 종량제봉투·대형폐기물 스티커를 사거나 폐건전지·종이팩을 교환할 수 있는 곳이 많아요.",
    ),
    _kind("구청", "구청", "구청 청소행정과", category="PO3"),
    _kind("아름다운가게", "아름다운가게", "아름다운가게 기증"),
    _kind("굿윌스토어", "굿윌스토어", "굿윌스토어 굿윌"),
    _kind("녹색가게", "녹색가게", "녹색가게 아나바다 벼룩시장"),
    _kind("중고서점", "중고서점", "중고서점 헌책"),
    _kind("헌옷 수거·매입", "헌옷매입", "헌옷 의류수거"),
    _kind("중고매장", "중고매장", "중고품 중고매장 중고유아 중고컴퓨터 secondhand"),
    _kind("수리점", "전자제품 수리", "수리점 수리센터"),
    _kind("수선집", "옷수선", "수선"),
    _kind("제로웨이스트 카페", "제로웨이스트 카페", "다회용컵 텀블러", category="CE7"),
    _kind("약국", "약국", "약국", category="PM9", category_only=True),
    _kind("편의점", "편의점", "편의점", category="CS2", category_only=True),
)
_ITEMS = (
    _kind(
        _COMMUNITY,
        "행정복지센터",
        "폐건전지 건전지 폐배터리 보조배터리",
        category="PO3",
        note="폐건전지는 행정복지센터나 아파트 단지의 폐건전지 수거함에 넣으면 돼요. "
        "모아 가면 새 건전지로 바꿔 주는 곳도 있어요.",
    ),
    _kind(
        _COMMUNITY,
        "행정복지센터",
        "폐형광등 형광등",
        category="PO3",
        note="폐형광등은 깨지지 않게 행정복지센터나 아파트 단지의 형광등 수거함에 넣어 주세요.",
    ),
    _kind(
        _COMMUNITY,
        "행정복지센터",
        "종이팩 우유팩 멸균팩",
        category="PO3",
        note="종이팩을 씻어 말려 모아 가면 화장지나 종량제봉투로 바꿔 주는 행정복지센터가 많아요.",
    ),
    _kind(
        "약국",
        "약국",
        "폐의약품 폐약 남은약 안먹는약 유통기한지난약",
        category="PM9",
        category_only=True,
        note="먹다 남은 약(폐의약품)은 약국이나 보건소의 폐의약품 수거함에 가져가세요. "
        "지역에 따라 우체통으로도 보낼 수 있어요.",
    ),
    _kind(
        "편의점",
        "편의점",
        "종량제봉투 쓰레기봉투",
        category="CS2",
        category_only=True,
        note="종량제봉투는 사는 곳(시·군·구) 전용이라 가까운 편의점·마트에서 사면 돼요.",
    ),
)
_LOOSE = (
    _kind(_RECYCLING.label, _RECYCLING.query, "재활용 분리수거 recycl", note=_RECYCLING.note),
    _kind(_ZERO_WASTE.label, _ZERO_WASTE.query, "친환경 에코"),
)
TIERS: tuple[tuple[PlaceKind, ...], ...] = (_PLACES, _ITEMS, _LOOSE)
"""Place words, then items dropped off at a kind of place, then loose words."""

_KNOWN_REGIONS = _words(
    "서울 부산 대구 인천 광주 대전 울산 세종 제주 제주도 경기 경기도 강원 강원도 충북 충남 전북 전남 경북 경남 "
    "수원 성남 고양 용인 창원 청주 천안 전주 안산 안양 김해 포항 강릉 춘천 원주 여수 순천 목포 경주 구미 진주 "
    "평택 파주 김포 화성 부천 광명 하남 시흥 의정부 남양주 일산 분당 판교 송도 동탄 영통 강남 홍대 신촌 잠실 "
    "성수 망원 연남 합정 이태원 건대 여의도 해운대 서면 광안리 명동 종로 대학로 신림 노량진 속초"
)
_ENGLISH_REGIONS = {
    "seoul": "서울",
    "busan": "부산",
    "incheon": "인천",
    "daegu": "대구",
    "daejeon": "대전",
    "gwangju": "광주",
    "jeju": "제주",
    "suwon": "수원",
    "gangnam": "강남",
    "hongdae": "홍대",
    "sinchon": "신촌",
    "jamsil": "잠실",
    "seongsu": "성수",
    "itaewon": "이태원",
    "pangyo": "판교",
}
_REGION_ENDING = re.compile(r"[가-힣]{1,7}(?:역|동|구|시|군|읍)")
"""Region words end like this (면 is left out: it ends too many verbs, ``가져가면``)."""
_NOT_REGIONS = _words(
    "도구 친구 입구 출구 연구 요구 문구 기구 지역 구역 영역 무역 동네 이동 자동 활동 운동 행동 아동 공동 작동 감동 "
    "변동 다시 혹시 당시 동시 정시 몇시 우리동 우리구"
)
"""Common words that end like a region but are not one."""
_NOT_REGION_ENDINGS = ("가구", "철역", "기차역")
_PARTICLES = (
    "에서는", "에서도", "에서", "에는", "에도", "인데요", "인데", "이에요", "이예요", "예요", "이야", "이요", "까지",
    "쪽에", "쪽", "근처에", "근처", "주변에", "주변", "부근", "에", "은", "는", "이", "가", "을", "를", "도", "야",
)  # fmt: skip
"""Endings stripped from a word before it is read as a region (longest first)."""
_STOP_PREFIXES = (
    "근처", "주변", "부근", "어디", "어딨", "어딘", "알려", "찾아", "찾기", "찾고", "있", "없", "가까", "제일", "가장",
    "우리", "동네", "여기", "거기", "저기", "이거", "그거", "이곳", "그곳", "위치", "주소", "추천", "지금", "혹시",
    "가는", "가려", "가고", "가서", "영업", "운영", "전화", "지도", "보여", "궁금", "부탁", "해줘", "관련", "회사",
    "학교", "오늘", "내일", "주말", "일요일", "여는", "걸어서", "정확히", "파는", "사러", "팔러", "버리", "버릴",
    "나는", "내가", "같은", "어떤", "무슨", "열리는", "가게", "매장", "장소", "시설", "센터", "업체", "지점", "환경",
)  # fmt: skip
"""Filler words: never a region, never a keyword."""
_DETAIL_WORDS = ("영업시간", "운영시간", "몇시", "시까지", "주차", "휴무", "문연", "여는", "열어", "가는길", "가는법",
                 "openinghours", "hours", "parking")  # fmt: skip
_TOKEN = re.compile(r"[0-9A-Za-z가-힣]+")


@dataclass(frozen=True, slots=True)
class PlaceQuery:
    """What to search for one message."""

    kind: PlaceKind
    region: str | None
    """A region named in the message (``강남역``, ``부산 해운대``), or ``None``."""
    guessed: bool = False
    """No kind of place was recognised: the default (재활용센터) is searched."""
    asks_details: bool = False
    """The user asked for opening hours, parking or the way there, which Kakao Local does not return."""

    @property
    def keyword(self) -> str:
        """The Kakao keyword: the region first, as Kakao reads regions out of the query."""
        return f"{self.region} {self.kind.query}" if self.region else self.kind.query


def place_kind(text: str) -> PlaceKind | None:
    """The kind of place ``text`` asks for (tiers in order; earliest word within a tier)."""
    key = compact(text)
    for tier in TIERS:
        best: tuple[int, PlaceKind] | None = None
        for kind in tier:
            for trigger in kind.triggers:
                at = key.find(trigger)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, kind)
        if best is not None:
            return best[1]
    return None


def _strip_particles(token: str) -> str:
    for particle in _PARTICLES:
        if token.endswith(particle) and len(token) - len(particle) >= 2:
            return token[: -len(particle)]
    return token


def _is_region(word: str) -> bool:
    if word in _KNOWN_REGIONS:
        return True
    return bool(
        _REGION_ENDING.fullmatch(word)
        and word not in _NOT_REGIONS
        and not word.endswith(_NOT_REGION_ENDINGS)
        and not word.startswith(_STOP_PREFIXES)
        and place_kind(word) is None
    )


def _region_word(token: str) -> str | None:
    """The region ``token`` names (``역삼역이야`` -> ``역삼역``, ``Hongdae`` -> ``홍대``), or ``None``."""
    english = _ENGLISH_REGIONS.get(token.lower())
    if english:
        return english
    for word in (token, _strip_particles(token)):  # the raw word first: 제주도 and 여의도 end like a particle
        if _is_region(word):
            return word
    return None


def parse_message(message: str, item: str | None = None) -> PlaceQuery:
    """Read a chat message (and the item an earlier round found, e.g. vision's "건전지") into a search."""
    tokens = _TOKEN.findall(unicodedata.normalize("NFKC", message))
    regions: list[str] = []
    rest: list[str] = []
    for token in tokens:
        region = _region_word(token)
        if region is not None and region not in regions:
            regions.append(region)
        elif region is None:
            rest.append(token)
    kind = place_kind(message) or (place_kind(item) if item else None)
    guessed = False
    if kind is None:
        word = next((w for t in rest if (w := _leftover(t)) is not None), None)
        if word is not None:
            kind = PlaceKind(word, word, (word,))
        else:
            kind, guessed = _RECYCLING, True
    return PlaceQuery(
        kind=kind,
        region=" ".join(regions[:3]) or None,
        guessed=guessed,
        asks_details=any(w in compact(message) for w in _DETAIL_WORDS),
    )


def _leftover(token: str) -> str | None:
    """A Korean noun-like word worth searching on its own, or ``None`` for filler."""
    if not re.fullmatch(r"[가-힣]+", token) or token.startswith(_STOP_PREFIXES + _DETAIL_WORDS + ("몇", "시까지")):
        return None
    word = _strip_particles(token)
    return word if len(word) >= 2 else None
