"""A small hand-written keyword lexicon: phrases that, on their own, say which intent is meant.

The statistical model learns from ~1,200 sentences and can be unsure about rare wordings; a keyword like
"수거함" or "시세" is a reliable signal that needs no training data. The lexicon is used as evidence, not
as rules: it nudges the model's probabilities and confirms secondary intents of multi-intent messages.

Matching happens on normalised text with the spaces removed, because users write "근처재활용센터" as
often as "근처 재활용센터". A phrase written with a leading ``^`` ("^폼이") only counts at the start of a
word: short Korean strings hide inside longer words ("스티로폼이야", "전기온수매트").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from eco2.domain.intents import Intent
from eco2.intent._text import compact, normalize

__all__ = ["DEFAULT_LEXICON", "Lexicon"]

_WORD_START = "^"

# fmt: off
DEFAULT_LEXICON: Mapping[Intent, tuple[str, ...]] = MappingProxyType(
    {
        Intent.WASTE: (
            "어떻게 버려", "어떻게 버리", "어케 버려", "어디에 버려", "어디다 버려", "어디 버려",
            "버리는 법", "버리는 방법", "분리배출", "분리수거 방법", "음식물쓰레기", "음식물 쓰레기",
            "음쓰", "일반쓰레기", "종량제", "재활용 돼", "재활용 되", "재활용 가능", "라벨", "헹궈",
            "recycle", "dispose", "throw away", "trash", "garbage",
        ),
        Intent.BULK_WASTE: (
            # the procedure, then furniture and large appliances that need a report (abridged 품목표)
            "대형폐기물", "대형 폐기물", "대형 쓰레기", "대형가전", "대형 가전", "무상수거", "무상 수거",
            "방문수거", "폐가전", "폐가구", "스티커 붙", "스티커 가격", "스티커 사", "신고필증", "수수료",
            "bulky", "sticker", "소파", "쇼파", "매트리스", "토퍼", "침대", "장롱", "옷장", "책장",
            "책꽂이", "서랍장", "수납장", "장식장", "거실장", "신발장", "화장대", "식탁", "책상", "평상",
            "행거", "싱크대", "문짝", "카페트", "러그", "냉장고", "김치냉장고", "세탁기", "건조기",
            "식기세척기", "에어컨", "실외기", "정수기", "가스레인지", "스타일러", "^티비", "^tv",
            "텔레비전", "피아노", "안마의자", "러닝머신", "런닝머신", "실내자전거", "운동기구", "자전거",
            "유모차", "카시트", "캣타워", "어항", "항아리", "미끄럼틀", "골프백", "sofa", "mattress",
            "fridge", "refrigerator", "washing machine", "furniture",
        ),
        Intent.CHARACTER: (
            "캐릭터", "^이코", "^페티", "메탈리", "페이피", "^플리", "^비니", "^폼이", "글래시", "^도감",
            "마스코트", "character", "^iko",
        ),
        Intent.LOCATION: (
            "재활용센터", "재활용 센터", "재활용 가게", "재활용 매장", "제로웨이스트샵",
            "제로웨이스트 가게", "제로웨이스트 매장", "제로 웨이스트 샵", "리필스테이션", "리필샵",
            "리필 샵", "리필 가게", "고물상", "고철상", "주민센터", "행정복지센터", "동사무소",
            "자원순환센터", "새활용플라자", "알맹상점", "아름다운가게", "굿윌스토어", "녹색가게", "near me",
            "nearby", "zero waste shop", "zero waste store", "refill shop", "scrap yard",
        ),
        Intent.WEATHER: (
            "날씨", "비 와", "비 오", "비 온", "눈 와", "눈 오", "눈 온", "^기온", "몇 도", "미세먼지",
            "우산", "태풍", "장마", "소나기", "일기예보", "예보", "강수", "폭염", "한파", "황사", "추워",
            "더워", "쌀쌀", "습도", "자외선", "안개", "weather", "rain", "snow", "umbrella", "forecast",
        ),
        Intent.WEB_SEARCH: (
            "뉴스", "검색", "찾아봐", "최신", "최근 소식", "소식", "^기사", "바뀐 거", "바뀌는",
            "제도 바뀐", "정책", "규제", "의무화", "개정", "시행", "보도자료", "행사", "인터넷에서", "구글",
            "네이버", "news", "search", "latest", "recent",
        ),
        Intent.COLLECTION_POINT: (
            "수거함", "회수기", "네프론", "수거통", "수거 거점", "거점 수거", "헌옷함", "배출함",
            "버리는 곳", "버리는 데", "버릴 곳", "버릴 데", "갖다 줄", "갖다줄", "수거하는 곳", "모으는 곳",
            "가져갈 곳", "재활용 정거장", "클린하우스", "동네마당", "collection", "drop off",
            "vending machine", "donation bin",
        ),
        Intent.RECYCLABLE_PRICE: (
            "시세", "kg당", "키로에", "키로면", "단가", "매입가", "매입 가격", "얼마 쳐", "얼마 받",
            "얼마 줘", "팔면", "돈 돼", "폐지값", "고철값", "구리값", "폐지 가격", "고철 가격", "per kg",
            "price", "worth",
        ),
        Intent.IMAGE_GENERATION: (
            "그려", "그림", "포스터", "일러스트", "이미지 만들", "이미지 생성", "이미지로", "^로고",
            "배경화면", "디자인해", "도안", "상상화", "렌더링", "아이콘", "카드뉴스", "배너", "웹툰",
            "색칠", "수채화", "픽셀아트", "draw", "paint", "poster", "illustration", "image of", "picture",
        ),
        Intent.GENERAL: (
            "안녕", "고마워", "고맙습니다", "감사합니다", "감사해요", "땡큐", "반가워", "^ㅎㅇ", "^ㄱㅅ",
            "무슨 뜻", "차이가 뭐", "란 뭐", "이 뭐야", "가 뭐야", "뭔데", "^왜", "원인", "이유", "의미",
            "설명해", "hello", "thanks", "thank you", "what is", "why",
        ),
    }
)
# fmt: on
"""The lexicon ``OfflineIntentClassifier.default()`` uses; written from docs/intents.md, not fitted."""


class Lexicon:
    """Keyword phrases per intent, compiled once, answering "which intents does this text mention?"."""

    def __init__(self, phrases: Mapping[Intent, Iterable[str]]) -> None:
        self._anywhere: dict[Intent, tuple[str, ...]] = {}
        self._word_start: dict[Intent, re.Pattern[str]] = {}
        for intent, raw in phrases.items():
            anywhere: set[str] = set()
            word_start: set[str] = set()
            for phrase in raw:
                bucket = word_start if phrase.startswith(_WORD_START) else anywhere
                bucket.add(compact(normalize(phrase.removeprefix(_WORD_START))))
            self._anywhere[intent] = tuple(sorted(anywhere - {""}))
            if word_start - {""}:
                alternatives = "|".join(re.escape(k) for k in sorted(word_start - {""}))
                self._word_start[intent] = re.compile(rf"(?<![0-9a-z가-힣ᄀ-ᇿ])(?:{alternatives})")

    def hits(self, text: str) -> frozenset[Intent]:
        """Intents with at least one phrase in ``text`` (already normalised)."""
        flat = compact(text)
        found = {intent for intent, keys in self._anywhere.items() if any(k in flat for k in keys)}
        found.update(intent for intent, pattern in self._word_start.items() if pattern.search(text))
        return frozenset(found)
