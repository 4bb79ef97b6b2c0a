"""Places a user may name instead of sharing a location: the 17 metropolitan cities and provinces.

Each province resolves to its capital (a provincial office or the capital's city hall), and a few large
cities are added. Short names collide with ordinary words ("대구" is also a fish, "고양이" a cat), so a name
only counts when what follows it is not more Hangul, unless it is a particle or a word such as "날씨".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eco2.subagents.weather.kma.grid import GridPoint, to_grid


@dataclass(frozen=True, slots=True)
class Place:
    """A named point whose weather we can report."""

    label: str
    latitude: float
    longitude: float
    names: tuple[str, ...]

    @property
    def grid(self) -> GridPoint:
        """The KMA grid cell of the place."""
        return to_grid(self.latitude, self.longitude)


SEOUL_CITY_HALL = Place("서울특별시청", 37.5665, 126.9780, ("서울특별시", "서울시", "서울"))
"""The default when a message names no place and the user shares no location."""

PLACES: tuple[Place, ...] = (
    SEOUL_CITY_HALL,
    Place("부산광역시청", 35.1798, 129.0750, ("부산광역시", "부산시", "부산")),
    Place("대구광역시청", 35.8714, 128.6014, ("대구광역시", "대구시", "대구")),
    Place("인천광역시청", 37.4563, 126.7052, ("인천광역시", "인천시", "인천")),
    Place("광주광역시청", 35.1601, 126.8514, ("광주광역시", "광주시", "광주")),
    Place("대전광역시청", 36.3504, 127.3845, ("대전광역시", "대전시", "대전")),
    Place("울산광역시청", 35.5396, 129.3115, ("울산광역시", "울산시", "울산")),
    Place("세종특별자치시청", 36.4801, 127.2890, ("세종특별자치시", "세종시", "세종")),
    Place("수원시청(경기도)", 37.2636, 127.0286, ("경기도", "경기", "수원시", "수원")),
    Place("춘천시청(강원특별자치도)", 37.8813, 127.7298, ("강원특별자치도", "강원도", "강원", "춘천시", "춘천")),
    Place("청주시청(충청북도)", 36.6424, 127.4890, ("충청북도", "충북", "청주시", "청주")),
    Place("충청남도청(홍성)", 36.6588, 126.6728, ("충청남도", "충남", "홍성군", "홍성")),
    Place("전주시청(전북특별자치도)", 35.8242, 127.1480, ("전북특별자치도", "전라북도", "전북", "전주시", "전주")),
    Place("전라남도청(무안)", 34.8161, 126.4629, ("전라남도", "전남", "무안군", "무안")),
    Place("경상북도청(안동)", 36.5760, 128.5056, ("경상북도", "경북", "안동시", "안동")),
    Place("창원시청(경상남도)", 35.2281, 128.6812, ("경상남도", "경남", "창원시", "창원")),
    Place("제주시청(제주특별자치도)", 33.4996, 126.5312, ("제주특별자치도", "제주도", "제주시", "제주")),
    Place("서귀포시청", 33.2541, 126.5601, ("서귀포시", "서귀포")),
    Place("성남시청", 37.4201, 127.1265, ("성남시", "성남")),
    Place("고양시청", 37.6584, 126.8320, ("고양시",)),
    Place("용인시청", 37.2411, 127.1776, ("용인시", "용인")),
    Place("천안시청", 36.8151, 127.1139, ("천안시", "천안")),
    Place("포항시청", 36.0190, 129.3435, ("포항시", "포항")),
    Place("김해시청", 35.2285, 128.8894, ("김해시", "김해")),
    Place("강릉시청", 37.7519, 128.8761, ("강릉시", "강릉")),
    Place("원주시청", 37.3422, 127.9202, ("원주시",)),
    Place("여수시청", 34.7604, 127.6622, ("여수시", "여수")),
    Place("목포시청", 34.8118, 126.3922, ("목포시", "목포")),
)

_FOLLOWERS = (
    "광역시", "특별시", "특별자치시", "특별자치도", "시내", "시", "도", "에서", "에는", "에", "은", "는", "이",
    "가", "의", "쪽", "지역", "근처", "날씨", "기온", "하늘", "오늘", "내일", "모레", "지금", "현재",
)  # fmt: skip
_FOLLOW = "|".join(sorted(set(_FOLLOWERS), key=len, reverse=True))
_BY_NAME = {name: place for place in PLACES for name in place.names}
_NAMES = "|".join(sorted(_BY_NAME, key=len, reverse=True))
_PATTERN = re.compile(rf"({_NAMES})(?=$|[^가-힣]|(?:{_FOLLOW}))")


def find_place(message: str) -> Place | None:
    """The first place named in ``message``, or ``None``."""
    match = _PATTERN.search(message)
    return _BY_NAME[match.group(1)] if match else None
