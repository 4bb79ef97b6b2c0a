"""Korean administrative districts (시도 / 시군구), as kept by MOIS, and finding them in a chat message.

Pure knowledge, no I/O: shared by the district-scoped subagents (``bulk_waste``, ``collection_point``)
and the follow-up resolver (``eco2.orchestrator.followup``). Both the MOIS household-waste API
(``cond[SGG_NM::LIKE]``) and KECO's collection-point dataset (``cond[수거장소(주소)::LIKE]``) are filtered
by 시군구 name, so a subagent must turn "강남구 소파" or "수원 영통구 장롱" into one district, or know
that "중구" alone is ambiguous (six metropolitan cities have one) and ask. The names follow the 2026
administrative map, keeping recently renamed ones (인천 중구/동구 -> 제물포구·영종구, 서구 -> 서구·검단구;
강원도 -> 강원특별자치도) so data that lags behind still matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_SIDO_ALIASES: dict[str, tuple[str, ...]] = {
    "서울특별시": ("서울특별시", "서울시", "서울"),
    "부산광역시": ("부산광역시", "부산시", "부산"),
    "대구광역시": ("대구광역시", "대구시", "대구"),
    "인천광역시": ("인천광역시", "인천시", "인천"),
    "광주광역시": ("광주광역시", "광주"),
    "대전광역시": ("대전광역시", "대전시", "대전"),
    "울산광역시": ("울산광역시", "울산시", "울산"),
    "세종특별자치시": ("세종특별자치시",),
    "경기도": ("경기도", "경기"),
    "강원특별자치도": ("강원특별자치도", "강원도", "강원"),
    "충청북도": ("충청북도", "충북"),
    "충청남도": ("충청남도", "충남"),
    "전북특별자치도": ("전북특별자치도", "전라북도", "전북"),
    "전라남도": ("전라남도", "전남"),
    "경상북도": ("경상북도", "경북"),
    "경상남도": ("경상남도", "경남"),
    "제주특별자치도": ("제주특별자치도", "제주도", "제주"),
}

_SIGUNGU: dict[str, str] = {
    "서울특별시": "종로구 중구 용산구 성동구 광진구 동대문구 중랑구 성북구 강북구 도봉구 노원구 은평구 서대문구 "
    "마포구 양천구 강서구 구로구 금천구 영등포구 동작구 관악구 서초구 강남구 송파구 강동구",
    "부산광역시": "중구 서구 동구 영도구 부산진구 동래구 남구 북구 해운대구 사하구 금정구 강서구 연제구 수영구 "
    "사상구 기장군",
    "대구광역시": "중구 동구 서구 남구 북구 수성구 달서구 달성군 군위군",
    "인천광역시": "중구 동구 제물포구 영종구 미추홀구 연수구 남동구 부평구 계양구 서구 검단구 강화군 옹진군",
    "광주광역시": "동구 서구 남구 북구 광산구",
    "대전광역시": "동구 중구 서구 유성구 대덕구",
    "울산광역시": "중구 남구 동구 북구 울주군",
    "세종특별자치시": "세종시",
    "경기도": "수원시 성남시 의정부시 안양시 부천시 광명시 평택시 동두천시 안산시 고양시 과천시 구리시 남양주시 "
    "오산시 시흥시 군포시 의왕시 하남시 용인시 파주시 이천시 안성시 김포시 화성시 광주시 양주시 포천시 여주시 "
    "연천군 가평군 양평군",
    "강원특별자치도": "춘천시 원주시 강릉시 동해시 태백시 속초시 삼척시 홍천군 횡성군 영월군 평창군 정선군 철원군 "
    "화천군 양구군 인제군 고성군 양양군",
    "충청북도": "청주시 충주시 제천시 보은군 옥천군 영동군 증평군 진천군 괴산군 음성군 단양군",
    "충청남도": "천안시 공주시 보령시 아산시 서산시 논산시 계룡시 당진시 금산군 부여군 서천군 청양군 홍성군 "
    "예산군 태안군",
    "전북특별자치도": "전주시 군산시 익산시 정읍시 남원시 김제시 완주군 진안군 무주군 장수군 임실군 순창군 "
    "고창군 부안군",
    "전라남도": "목포시 여수시 순천시 나주시 광양시 담양군 곡성군 구례군 고흥군 보성군 화순군 장흥군 강진군 "
    "해남군 영암군 무안군 함평군 영광군 장성군 완도군 진도군 신안군",
    "경상북도": "포항시 경주시 김천시 안동시 구미시 영주시 영천시 상주시 문경시 경산시 의성군 청송군 영양군 "
    "영덕군 청도군 고령군 성주군 칠곡군 예천군 봉화군 울진군 울릉군",
    "경상남도": "창원시 진주시 통영시 사천시 김해시 밀양시 거제시 양산시 의령군 함안군 창녕군 고성군 남해군 "
    "하동군 산청군 함양군 거창군 합천군",
    "제주특별자치도": "제주시 서귀포시",
}

_CITY_GU: dict[tuple[str, str], str] = {
    ("경기도", "수원시"): "장안구 권선구 팔달구 영통구",
    ("경기도", "성남시"): "수정구 중원구 분당구",
    ("경기도", "안양시"): "만안구 동안구",
    ("경기도", "부천시"): "원미구 소사구 오정구",
    ("경기도", "안산시"): "상록구 단원구",
    ("경기도", "고양시"): "덕양구 일산동구 일산서구",
    ("경기도", "용인시"): "처인구 기흥구 수지구",
    ("경기도", "화성시"): "만세구 효행구 병점구 동탄구",
    ("충청북도", "청주시"): "상당구 서원구 흥덕구 청원구",
    ("충청남도", "천안시"): "동남구 서북구",
    ("전북특별자치도", "전주시"): "완산구 덕진구",
    ("경상북도", "포항시"): "남구 북구",
    ("경상남도", "창원시"): "의창구 성산구 마산합포구 마산회원구 진해구",
}

_NICKNAMES: dict[str, tuple[str, str, str]] = {
    "분당": ("경기도", "성남시", "분당구"),
    "판교": ("경기도", "성남시", "분당구"),
    "일산": ("경기도", "고양시", ""),
    "동탄": ("경기도", "화성시", "동탄구"),
    "세종": ("세종특별자치시", "세종시", ""),
    "세종특별자치시": ("세종특별자치시", "세종시", ""),
}

# Well-known 동 whose name is its 시군구's alone, so "역삼동이요" can answer "which district?". Ambiguous ones
# (신사동: 강남구 and 은평구; 중앙동: dozens) are left out: the question is then asked again.
_NEIGHBOURHOODS: dict[str, str] = {
    "서울특별시 강남구": "역삼동 삼성동 대치동 압구정동 청담동 논현동 개포동 도곡동 일원동 수서동 세곡동",
    "서울특별시 서초구": "서초동 반포동 방배동 양재동 잠원동 내곡동",
    "서울특별시 송파구": "잠실동 방이동 문정동 가락동 석촌동 송파동 오금동 거여동 마천동 풍납동 위례동",
    "서울특별시 강동구": "천호동 명일동 고덕동 암사동 둔촌동 성내동 상일동",
    "서울특별시 마포구": "서교동 합정동 망원동 연남동 상암동 공덕동 아현동",
    "서울특별시 용산구": "이태원동 한남동 후암동 청파동 효창동 서빙고동 보광동",
    "서울특별시 영등포구": "여의도동 당산동 문래동 대림동 신길동 양평동",
    "서울특별시 관악구": "신림동 봉천동 남현동",
    "서울특별시 동작구": "노량진동 사당동 상도동 흑석동",
    "서울특별시 성동구": "성수동 왕십리동 옥수동 행당동",
    "서울특별시 광진구": "자양동 화양동 구의동 중곡동",
    "서울특별시 노원구": "상계동 중계동 하계동 공릉동",
    "서울특별시 서대문구": "연희동 홍제동 신촌동 창천동 북아현동 홍은동",
    "서울특별시 은평구": "불광동 응암동 녹번동 진관동 역촌동",
    "서울특별시 양천구": "목동",
    "서울특별시 강서구": "화곡동 등촌동 마곡동 방화동 염창동",
    "서울특별시 구로구": "구로동 신도림동 개봉동 고척동",
    "서울특별시 금천구": "가산동 독산동",
    "부산광역시 해운대구": "우동 중동 좌동 재송동 반여동",
    "부산광역시 수영구": "광안동 민락동 남천동",
}
"""``시도 시군구`` -> its 동 (space separated)."""

# Stems ("강남" for 강남구) that are also everyday words would turn "동작 버튼" or "구리 전선" into a district.
# fmt: off
_STEM_BLOCKLIST = frozenset((
    "동작", "구리", "양주", "청주", "진주", "동해", "구미", "상주", "양산", "사천", "공주", "광주",
    "보은", "음성", "부여", "예산", "완주", "장수", "무안", "영광", "장성", "진도", "의성", "영양",
    "고령", "거창", "정선", "인제", "고성", "오산", "고양", "수영", "사상", "기장", "달성", "연수",
    "강화", "광산", "유성", "중구", "동구", "서구", "남구", "북구", "화성", "영동", "금산",
))
# fmt: on


@dataclass(frozen=True, slots=True)
class District:
    """One 시군구 (``gu`` is set for a 구 inside a city, e.g. 수원시 영통구)."""

    sido: str
    sigungu: str
    gu: str = ""

    @property
    def label(self) -> str:
        """Human label: ``서울특별시 강남구`` or ``경기도 수원시 영통구``."""
        if self.sigungu == "세종시":
            return self.sido
        return " ".join(part for part in (self.sido, self.sigungu, self.gu) if part)

    @property
    def short_label(self) -> str:
        """Label without the 시도 where the 시군구 is unambiguous enough for a sentence."""
        return " ".join(part for part in (self.sigungu, self.gu) if part)

    @property
    def query_name(self) -> str:
        """The 시군구 name to send to ``LIKE`` filters (the city for a 구 inside a city)."""
        return "세종" if self.sigungu == "세종시" else self.sigungu


@dataclass(frozen=True, slots=True)
class DistrictResolution:
    """What a message says about its district."""

    district: District | None = None
    """The one district meant, when it is clear."""
    candidates: tuple[District, ...] = ()
    """Several districts fit (e.g. "중구"): ask which one."""
    sido: str = ""
    """A 시도 named without a 시군구 (e.g. "부산"): ask for the 구."""


def canonical_sido(name: str) -> str | None:
    """The canonical 시도 name of any spelling (``강원도`` -> ``강원특별자치도``), or ``None``."""
    text = name.strip()
    for canonical, aliases in _SIDO_ALIASES.items():
        if text in aliases:
            return canonical
    return None


@lru_cache(maxsize=1)
def _index() -> tuple[re.Pattern[str], dict[str, tuple[object, ...]]]:
    """One longest-first alternation over every name, and what each name means."""
    table: dict[str, list[object]] = {}
    for sido, aliases in _SIDO_ALIASES.items():
        for alias in aliases:
            table.setdefault(alias, []).append(sido)
    stems: dict[str, list[District]] = {}
    for sido, names in _SIGUNGU.items():
        for name in names.split():
            district = District(sido, name)
            table.setdefault(name, []).append(district)
            stem = name[:-1]
            if len(stem) >= 2 and stem not in _STEM_BLOCKLIST:
                stems.setdefault(stem, []).append(district)
    for (sido, city), gus in _CITY_GU.items():
        for gu in gus.split():
            table.setdefault(gu, []).append(District(sido, city, gu))
    for stem, districts in stems.items():
        if stem not in table:
            table[stem] = list(districts)
    for nickname, (sido, city, gu) in _NICKNAMES.items():
        table[nickname] = [District(sido, city, gu)]
    for dong, home in _neighbourhoods():
        table.setdefault(dong, [home])
    longest_first = sorted(table, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(name) for name in longest_first))
    return pattern, {name: tuple(targets) for name, targets in table.items()}


def _neighbourhoods() -> list[tuple[str, District]]:
    """Each well-known 동 with its 시군구; two-letter ones ("우동", "목동") are everyday words too: left out."""
    pairs: list[tuple[str, District]] = []
    for where, dongs in _NEIGHBOURHOODS.items():
        sido, sigungu = where.split()
        pairs.extend((dong, District(sido, sigungu)) for dong in dongs.split() if len(dong) >= 3)
    return pairs


def _is_hangul(char: str) -> bool:
    return "가" <= char <= "힣"


UNLOCATED_NOTE = " (현재 위치만으로는 시·군·구를 확인하지 못했어요.)"
"""Ends a district question when the user shared a location that did not tell the 시군구."""


def resolve_in(hint: str, message: str) -> DistrictResolution:
    """The district of ``message``, a district carried over from an earlier turn (``hint``) first.

    Every district-scoped subagent (bulk_waste, collection_point) resolves the same way, and asks the
    same way when this is not one district (see :func:`candidate_names`, :data:`UNLOCATED_NOTE`).
    """
    return resolve_district(" ".join(part for part in (hint, message) if part))


def candidate_names(candidates: tuple[District, ...]) -> str:
    """The districts an ambiguous name fits, as one phrase (each label once, in order)."""
    return "·".join(dict.fromkeys(c.label for c in candidates))


def resolve_district(text: str) -> DistrictResolution:
    """Find the district a message is about (see :class:`DistrictResolution`)."""
    norm = unicodedata.normalize("NFKC", text)
    pattern, table = _index()
    sidos: list[str] = []
    found: list[District] = []
    last_end = -1
    for match in pattern.finditer(norm):
        start = match.start()
        glued = start > 0 and _is_hangul(norm[start - 1])
        if glued and start != last_end:
            continue  # the tail of a longer word ("강남구" inside "서강남구")
        last_end = match.end()
        for target in table[match.group(0)]:
            if isinstance(target, District):
                found.append(target)
            elif isinstance(target, str):
                sidos.append(target)
    return _decide(sidos, found)


def _decide(sidos: list[str], found: list[District]) -> DistrictResolution:
    candidates = list(dict.fromkeys(found))
    if sidos:
        narrowed = [d for d in candidates if d.sido in sidos]
        candidates = narrowed or candidates
    cities = {(d.sido, d.sigungu) for d in candidates if not d.gu}
    inner = [d for d in candidates if d.gu and (d.sido, d.sigungu) in cities]
    if inner:  # "포항 남구", "수원시 영통구": the 구 of the city that was named
        candidates = inner
    else:
        gus = {(d.sido, d.sigungu) for d in candidates if d.gu}
        candidates = [d for d in candidates if d.gu or (d.sido, d.sigungu) not in gus]
    if len(candidates) == 1:
        return DistrictResolution(district=candidates[0])
    if candidates:
        return DistrictResolution(candidates=tuple(candidates))
    return DistrictResolution(sido=sidos[0] if len(set(sidos)) == 1 else "")


def same_sido(ctpv_nm: str, sido: str) -> bool:
    """Whether a dataset's 시도 spelling (``CTPV_NM``) names ``sido`` (legacy names included)."""
    return canonical_sido(ctpv_nm) == sido or ctpv_nm.strip() == sido
