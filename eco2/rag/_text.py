"""Korean text analysis for waste retrieval: normalization, particle stripping and character n-grams.

A morphological analyser (kiwipiepy, mecab) would be more precise, but loading one costs seconds and
hundreds of megabytes in every Celery worker process. Item names are short nouns, so a few cheap rules get
most of the benefit:

* NFKC + lowercase, and everything but Hangul syllables, ASCII letters and digits becomes a space;
* vowels that most speakers no longer tell apart are merged (ㅐ/ㅔ, ㅒ/ㅖ, ㅙ/ㅚ/ㅞ), and ㅑㅕㅛㅠ after
  ㅈㅉㅊ become ㅏㅓㅗㅜ, so 패트병 = 페트병, 쥬스 = 주스, 베게 = 베개;
* one trailing particle or ending is stripped from each word (페트병은 → 페트병, 충전해서 → 충전),
  choosing the particle's form by whether the stem ends in a consonant (이/은/을 after one, 가/는/를
  after none) and never leaving a stem too short to be a word (종이, 포도 stay whole);
* words that carry the question rather than the thing are dropped: asking and disposing (어떻게,
  버려, 분리수거), states and sizes (고장난, 다 먹은, 큰) and chatter (오늘, 애들);
* a document text becomes whole-word tokens, Hangul 2- and 3-grams over its words with spaces removed,
  and for names and aliases also the whole phrase and every syllable (:func:`document_tokens`);
* a query gets the same kinds of tokens, weighted so that each word counts the same however long it is,
  plus the grams that span two adjacent words, which repair spacing mistakes (페트 병 → 트병, 페트병) and
  whole spans tried as phrases (:func:`query_terms`).

Documents and queries go through the same analysis, so whatever the rules get wrong (내일 and 네일 fold
to the same word) they get wrong on both sides alike.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

__all__ = ["content_words", "document_tokens", "grams", "normalize", "phrase", "query_terms"]

_HANGUL_FIRST = 0xAC00
_HANGUL_LAST = 0xD7A3
_MEDIALS = 21
_FINALS = 28
_VOWEL_MERGE = {1: 5, 3: 7, 10: 15, 11: 15}  # ㅐ→ㅔ, ㅒ→ㅖ, ㅙ→ㅞ, ㅚ→ㅞ
_PALATAL_INITIALS = frozenset({12, 13, 14})  # ㅈ ㅉ ㅊ
_PALATAL_VOWELS = {2: 0, 6: 4, 12: 8, 17: 13}  # ㅑ→ㅏ, ㅕ→ㅓ, ㅛ→ㅗ, ㅠ→ㅜ
_NON_WORD = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")
_RUNS = re.compile(r"[\uac00-\ud7a3]+|[0-9a-z]+")


def _fold_syllable(code: int) -> str:
    offset = code - _HANGUL_FIRST
    initial, rest = divmod(offset, _MEDIALS * _FINALS)
    medial, final = divmod(rest, _FINALS)
    medial = _VOWEL_MERGE.get(medial, medial)
    if initial in _PALATAL_INITIALS:
        medial = _PALATAL_VOWELS.get(medial, medial)
    return chr(_HANGUL_FIRST + (initial * _MEDIALS + medial) * _FINALS + final)


_FOLD_TABLE = {
    code: folded for code in range(_HANGUL_FIRST, _HANGUL_LAST + 1) if (folded := _fold_syllable(code)) != chr(code)
}


def normalize(text: str) -> str:
    """Canonical form of ``text``: NFKC, lowercase, merged vowels, single spaces between word runs."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_FOLD_TABLE)
    return " ".join(_NON_WORD.sub(" ", folded).split())


def _has_final(syllable: str) -> bool:
    code = ord(syllable)
    return _HANGUL_FIRST <= code <= _HANGUL_LAST and (code - _HANGUL_FIRST) % _FINALS != 0


def _normalized(words: str) -> frozenset[str]:
    return frozenset(normalize(word) for word in words.split())


# suffix -> (minimum stem length, whether the stem must end in a consonant: True, False, None for either)
_PARTICLES: dict[str, tuple[int, bool | None]] = {
    **dict.fromkeys(("이랑", "이나", "이야", "이에요", "이라", "이라서", "이라도", "으로", "으로는"), (1, True)),
    **dict.fromkeys(("은", "을", "과", "은요", "이요", "이지", "이고", "인데", "인가요", "인가"), (1, True)),
    **dict.fromkeys(("는", "를", "랑", "는요", "예요", "라서", "라도"), (1, False)),
    **dict.fromkeys(("가", "와", "로", "로는", "야"), (2, False)),
    "이": (2, True),
    **dict.fromkeys(("에", "에서", "에서는", "에는", "에도", "에요", "까지", "부터", "처럼"), (1, None)),
    **dict.fromkeys(("하고", "한테", "보다", "도요", "만요", "밖에", "는데", "은데", "짜리"), (1, None)),
    **dict.fromkeys(("도", "요", "의", "임", "만"), (2, None)),
    # Endings of 하다 verbs (충전해서 → 충전, 교체했는데 → 교체); the stem is a noun worth keeping.
    **dict.fromkeys(("해서", "하는", "하면", "해도", "했는데", "했어", "하려는데", "하려고"), (2, None)),
    **dict.fromkeys(("했던", "하던", "하다", "해요", "해야", "한", "할"), (2, None)),
}
_PARTICLES = {normalize(suffix): rule for suffix, rule in _PARTICLES.items()}
_LONGEST_PARTICLE = max(map(len, _PARTICLES))

# Words that carry the question, not the thing: asking, disposing, politeness, vague pronouns.
_QUESTION_WORDS = """
    어떻게 어떡해 어떡하지 어케 어캐 어때 어디 어디에 어디다 어디로 어디서 어딨어 어느 뭐 뭐야 뭘로 뭔가요
    무엇 무슨 왜 언제 누가 이거 이건 이것 그거 그건 저거 저건 것 거 건 게 좀 다 또 그냥 혹시 근데 그럼
    그리고 아니면 너무 진짜 정말 많이 잔뜩 여러 개 같이 따로 꼭 제발 있는 있는데 있어 있어요 있나요 없어
    없는 되나 되나요 되요 돼요 돼 되지 되는 될까 될까요 됨 된 되는지 하나요 해요 해 할까 하면 하는 하는지
    한 했는데 했어 인가요 일까 맞아 맞나요 맞지 아니야 아닌가 알려줘 알려주세요 궁금해 방법 법 처리 처리법
    처분 폐기 분리수거 분리배출 분리 배출 배출법 쓰레기 쓰레기통 재활용 수거 수거함 넣어도 넣으면 넣어
    쓴 쓰고 쓰던 버릴때 할때 때 곳 데 날 요 네 응 음 좀요 주세요 해줘 해주세요 안 못
    너 나 저 우리 누구 누구니 누구야 얘 걔
"""
# States, sizes and histories that never tell which thing it is: "고장난 티비", "다 먹은 큰 통".
_STATE_WORDS = """
    고장난 고장 고장났는데 고장났어 망가진 망가짐 오래된 오래돼서 낡은 헌 새 새로 안쓰는 필요없는
    남은 남았어 남았는데 먹다 먹고 먹은 먹던 마신 마시고 쓰다 사용한 사용하던 다쓴 삶은 익은
    작은 큰 커다란 긴 짧은 두꺼운 얇은 무거운 가벼운 작아진
"""
# Chatter about when, who and where around the thing itself.
_CHATTER_WORDS = """
    싶어 싶은데 싶어요 작년 올해 어제 오늘 내일 요즘 아까 방금 지금 이번 저번 집 우리집 아이 애들
    엄마 아빠 옛날 예전 전부 모두 하나 한번 같은 그런 이런 저런 이사 이사가는데
"""
_STOP_WORDS = _normalized(_QUESTION_WORDS) | _normalized(_STATE_WORDS) | _normalized(_CHATTER_WORDS)
_STOP_PREFIXES = tuple(_normalized("버리 버려 버릴 버린 버렸 버림 어떻 어떡 알려 궁금 가르쳐 해야 해도"))
# Generic tails glued to a content word without a space: 음식물쓰레기 → 음식물, 페트병버리는법 → 페트병.
_GENERIC_TAILS = tuple(
    sorted(
        _normalized("쓰레기 쓰레기통 분리수거 분리배출 버리는법 버리는방법 버리기 수거함"),
        key=len,
        reverse=True,
    )
)


def _strip_particle(word: str) -> str:
    for size in range(min(_LONGEST_PARTICLE, len(word) - 1), 0, -1):
        rule = _PARTICLES.get(word[-size:])
        if rule is None:
            continue
        min_stem, needs_final = rule
        stem = word[:-size]
        if len(stem) < min_stem or (needs_final is not None and _has_final(stem[-1]) != needs_final):
            continue
        return stem
    return word


def _strip_generic_tail(word: str) -> str:
    for tail in _GENERIC_TAILS:
        if word.endswith(tail) and len(word) > len(tail):
            return word[: -len(tail)]
    return word


def _is_filler(word: str) -> bool:
    return word in _STOP_WORDS or word.startswith(_STOP_PREFIXES)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that name things: normalized, particle-stripped, without filler words."""
    words: list[str] = []
    for raw in normalize(text).split():
        if _is_filler(raw):
            continue
        word = _strip_generic_tail(_strip_particle(raw))
        if not _is_filler(word):
            words.append(word)
    return words


def grams(word: str) -> frozenset[str]:
    """Matching units of one word: its Hangul bigrams (the syllable itself if alone), ASCII runs whole."""
    units: set[str] = set()
    for run in _RUNS.findall(word):
        if run[0] < "\uac00" or len(run) == 1:
            units.add(run)
        else:
            units.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(units)


def _hangul(words: list[str]) -> list[str]:
    return [run for word in words for run in _RUNS.findall(word) if run[0] >= "\uac00"]


def _ngrams(text: str) -> list[str]:
    return [text[i : i + size] for size in (2, 3) for i in range(len(text) - size + 1)]


def phrase(words: list[str]) -> str:
    """Token for a whole name or alias, so that saying it exactly beats sharing its parts."""
    return "a:" + "".join(words)


def document_tokens(words: list[str], *, names: bool) -> list[str]:
    """BM25 tokens of one document text: Hangul 2/3-grams over the words joined, whole words, ASCII runs.

    ``names`` marks a name or alias: it adds the whole-phrase token and every Hangul syllable, which lets
    one-syllable query words (뼈, 약) and parts of compounds (딸기잼 → 잼) match.
    """
    out = [f"w:{word}" for word in words]
    if names and words:
        out.append(phrase(words))
    out.extend(_ngrams("".join(_hangul(words))))
    for word in words:
        runs = _RUNS.findall(word)
        if len(runs) > 1:
            out.extend(run for run in runs if run[0] < "\uac00")
        if names:
            out.extend(f"u:{syllable}" for syllable in word if syllable >= "\uac00")
    return out


_SYLLABLE_SHARE = 0.3  # weight of a word's single syllables relative to its n-grams
_JOINT_SHARE = 1.0  # weight of the n-grams that span two adjacent words (spacing mistakes: 페트 병)
_SYLLABLE_WORD_SHARE = 0.5  # a one-syllable word (통, 병, 뼈) is weaker evidence than a longer one
_LONGEST_PHRASE = 3  # query spans of up to this many words are tried as whole aliases


def query_terms(words: list[str]) -> list[tuple[str, float]]:
    """Weighted BM25 query tokens: every word gets the same total weight, however many n-grams it has.

    Without this a long common word (플라스틱: six tokens) outvotes a short rare one (분유: two).
    """
    terms: list[tuple[str, float]] = []

    def add(group: list[str], share: float) -> None:
        terms.extend((token, share / len(group)) for token in group)

    for word in words:
        runs = _RUNS.findall(word)
        main = [f"w:{word}"]
        for run in runs:
            main.extend(_ngrams(run) if run[0] >= "\uac00" else [run] if len(runs) > 1 else [])
        if len(word) == 1 and word >= "\uac00":
            main.append(f"u:{word}")
            add(main, _SYLLABLE_WORD_SHARE)
        else:
            add(main, 1.0)
        if len(word) > 1:
            add([f"u:{syllable}" for syllable in word if syllable >= "\uac00"], _SYLLABLE_SHARE)
    for size in range(1, min(_LONGEST_PHRASE, len(words)) + 1):
        terms.extend((phrase(words[i : i + size]), 1.0) for i in range(len(words) - size + 1))
    hangul = _hangul(words)
    for left, right in itertools.pairwise(hangul):
        # n-grams that start in the left word and end in the right one: 페트 병 → 트병, 페트병
        pair, split = left[-2:] + right[:2], len(left[-2:])
        joint = [
            pair[start : start + size]
            for size in (2, 3)
            for start in range(len(pair) - size + 1)
            if start < split < start + size
        ]
        add(joint, _JOINT_SHARE)
    return terms
