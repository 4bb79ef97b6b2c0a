"""Behaviour of the offline intent classifier, its dataset loader and its evaluation report.

The last test scores the held-out set written by someone else (tests/data/intent_heldout.jsonl); it is
skipped, with the reason, when that file is absent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from eco2.domain.intents import Intent, IntentResult, IntentScore
from eco2.intent import (
    PROVIDER,
    DatasetError,
    LabelledExample,
    OfflineIntentClassifier,
    cross_validate,
    evaluate,
    format_report,
    load_examples,
    parse_examples,
)

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "eco2" / "data" / "intent" / "train.jsonl"
HELDOUT = ROOT / "tests" / "data" / "intent_heldout.jsonl"


@pytest.fixture(scope="module")
def classifier() -> OfflineIntentClassifier:
    return OfflineIntentClassifier.default()


@pytest.fixture(scope="module")
def examples() -> list[LabelledExample]:
    return load_examples(TRAIN)


def _assert_well_formed(result: IntentResult) -> None:
    assert result.provider == PROVIDER
    assert 1 <= len(result.intents) <= 3
    assert len({score.intent for score in result.intents}) == len(result.intents)
    for score in result.intents:
        assert isinstance(score.intent, Intent)
        assert 0.0 <= score.confidence <= 1.0


# --- building -----------------------------------------------------------------------------------------


def test_builds_in_well_under_a_second(examples: list[LabelledExample]) -> None:
    OfflineIntentClassifier(examples[:200])  # warm up imports and caches: time the build itself
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        OfflineIntentClassifier(examples)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 1.0, f"build took {min(timings):.2f} s"


def test_default_is_built_once_per_process() -> None:
    assert OfflineIntentClassifier.default() is OfflineIntentClassifier.default()


def test_refuses_to_train_on_nothing() -> None:
    with pytest.raises(ValueError, match="at least one"):
        OfflineIntentClassifier([])


def test_works_without_a_lexicon(examples: list[LabelledExample]) -> None:
    plain = OfflineIntentClassifier(examples, lexicon={})
    assert plain.classify("페트병 어떻게 버려?").primary is Intent.WASTE


# --- single messages ----------------------------------------------------------------------------------

CLASSIC = [
    ("페트병 어떻게 버려?", Intent.WASTE),
    ("치킨 뼈는 음식물쓰레기야?", Intent.WASTE),
    ("우유팩은 종이랑 같이 버려도 돼?", Intent.WASTE),
    ("다 쓴 형광등 처리 방법", Intent.WASTE),
    ("소파 버리는 방법 알려줘", Intent.BULK_WASTE),
    ("장롱 버리는데 수수료 얼마야?", Intent.BULK_WASTE),
    ("대형폐기물 스티커는 어디서 사요", Intent.BULK_WASTE),
    ("이코 소개해줘", Intent.CHARACTER),
    ("페트병 캐릭터 누구야?", Intent.CHARACTER),
    ("캐릭터 보상 받으려면?", Intent.CHARACTER),
    ("근처 재활용센터 어디야?", Intent.LOCATION),
    ("강남역 제로웨이스트샵 알려줘", Intent.LOCATION),
    ("오늘 비 와?", Intent.WEATHER),
    ("내일 날씨 어때?", Intent.WEATHER),
    ("플라스틱 규제 최신 뉴스 검색해줘", Intent.WEB_SEARCH),
    ("2026년 분리배출 제도 바뀐 거 있어?", Intent.WEB_SEARCH),
    ("의류수거함 위치 알려줘", Intent.COLLECTION_POINT),
    ("페트병 무인회수기 어디 있어?", Intent.COLLECTION_POINT),
    ("폐지 kg당 얼마야?", Intent.RECYCLABLE_PRICE),
    ("고철 시세 알려줘", Intent.RECYCLABLE_PRICE),
    ("분리수거 포스터 그려줘", Intent.IMAGE_GENERATION),
    ("이코 그림 만들어줘", Intent.IMAGE_GENERATION),
    ("안녕하세요", Intent.GENERAL),
    ("고마워", Intent.GENERAL),
    ("탄소중립이 뭐야?", Intent.GENERAL),
]


@pytest.mark.parametrize(("message", "intent"), CLASSIC)
def test_classifies_classic_examples(classifier: OfflineIntentClassifier, message: str, intent: Intent) -> None:
    result = classifier.classify(message)
    _assert_well_formed(result)
    assert result.primary is intent, result.names()


BOUNDARIES = [
    ("폐건전지 어떻게 버려", Intent.WASTE),
    ("폐건전지 수거함 어디", Intent.COLLECTION_POINT),
    ("헌옷 버리는 법", Intent.WASTE),
    ("헌옷수거함 어디 있어", Intent.COLLECTION_POINT),
    ("냉장고 버리는 법", Intent.BULK_WASTE),
    ("고장 난 헤어드라이기 버리는 법", Intent.WASTE),
    ("재활용센터 어디", Intent.LOCATION),
    ("근처 고물상 어디야", Intent.LOCATION),
    ("고철 kg당 얼마 쳐줘?", Intent.RECYCLABLE_PRICE),
    ("탄소중립 정책 최신 뉴스 찾아줘", Intent.WEB_SEARCH),
    ("이코 그려줘", Intent.IMAGE_GENERATION),
    ("이코는 어떤 캐릭터야?", Intent.CHARACTER),
    ("오늘 분리수거 내놔도 돼? 비 온다던데", Intent.WEATHER),
    ("안녕하세요~ 혹시 다 쓴 부탄가스는 어떻게 버리는지 아세요?", Intent.WASTE),
]


@pytest.mark.parametrize(("message", "intent"), BOUNDARIES)
def test_separates_neighbouring_intents(classifier: OfflineIntentClassifier, message: str, intent: Intent) -> None:
    assert classifier.classify(message).primary is intent


def test_tolerates_missing_spaces_typos_and_english(classifier: OfflineIntentClassifier) -> None:
    assert classifier.classify("페트병라벨떼는법").primary is Intent.WASTE
    assert classifier.classify("쇼파버리는법좀").primary is Intent.BULK_WASTE
    assert classifier.classify("낼 비옴?").primary is Intent.WEATHER
    assert classifier.classify("zero waste shop near me").primary is Intent.LOCATION
    assert classifier.classify("how much is scrap copper per kg").primary is Intent.RECYCLABLE_PRICE


# --- multi-intent -------------------------------------------------------------------------------------

MULTI = [
    ("페트병 버리는 법이랑 오늘 날씨 알려줘", [Intent.WASTE, Intent.WEATHER]),
    ("고철 시세랑 근처 고물상 위치 알려줘", [Intent.RECYCLABLE_PRICE, Intent.LOCATION]),
    ("분리수거 포스터 그려주고 내일 비 오는지도 알려줘", [Intent.IMAGE_GENERATION, Intent.WEATHER]),
    ("냉장고 버리는 방법, 그리고 폐건전지 수거함 어디 있어?", [Intent.BULK_WASTE, Intent.COLLECTION_POINT]),
]


@pytest.mark.parametrize(("message", "intents"), MULTI)
def test_finds_a_second_intent_in_the_order_mentioned(
    classifier: OfflineIntentClassifier, message: str, intents: list[Intent]
) -> None:
    result = classifier.classify(message)
    _assert_well_formed(result)
    assert [score.intent for score in result.intents[:2]] == intents


@pytest.mark.parametrize(
    "message",
    [
        "페트병 어떻게 버려?",
        "소파 버리는 방법 알려줘",
        "근처 재활용센터 어디야?",
        "고마워",
        "이코랑 페티 그림 그려줘",
    ],
)
def test_single_requests_get_a_single_intent(classifier: OfflineIntentClassifier, message: str) -> None:
    assert len(classifier.classify(message).intents) == 1


# --- follow-ups ---------------------------------------------------------------------------------------

FOLLOW_UPS = [
    ("그럼 캔은?", ["페트병 어떻게 버려?"], Intent.WASTE),
    ("거기 몇 시까지 해?", ["근처 재활용센터 어디야?"], Intent.LOCATION),
    ("그럼 고철은?", ["폐지 kg당 얼마야?"], Intent.RECYCLABLE_PRICE),
    ("그럼 내일은?", ["오늘 날씨 어때?"], Intent.WEATHER),
    ("메탈리는?", ["페티는 어떤 캐릭터야?"], Intent.CHARACTER),
    ("의자는?", ["소파 버리는 법 알려줘"], Intent.BULK_WASTE),
    ("그럼 비닐은?", ["페트병 어떻게 버려?", "고마워"], Intent.WASTE),  # skips the thanks
]


@pytest.mark.parametrize(("message", "history", "intent"), FOLLOW_UPS)
def test_follow_up_inherits_the_previous_topic(
    classifier: OfflineIntentClassifier, message: str, history: list[str], intent: Intent
) -> None:
    assert classifier.classify(message, history).primary is intent


def test_follow_up_that_names_a_new_topic_switches(classifier: OfflineIntentClassifier) -> None:
    result = classifier.classify("그럼 내일 날씨는?", ["페트병 어떻게 버려?"])
    assert result.primary is Intent.WEATHER


def test_thanks_after_a_question_stays_general(classifier: OfflineIntentClassifier) -> None:
    assert classifier.classify("고마워!", ["페트병 어떻게 버려?"]).primary is Intent.GENERAL


def test_history_of_blank_messages_is_ignored(classifier: OfflineIntentClassifier) -> None:
    result = classifier.classify("그럼 캔은?", ["", "   "])
    _assert_well_formed(result)


# --- robustness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["", " ", "\n\t  \u3000"])
def test_empty_message_is_general_with_low_confidence(classifier: OfflineIntentClassifier, message: str) -> None:
    result = classifier.classify(message)
    _assert_well_formed(result)
    assert result.primary is Intent.GENERAL
    assert result.confidence <= 0.2


@pytest.mark.parametrize(
    "message",
    [
        "😀🌍♻️",
        "ㅋ" * 50,
        "페트병 " * 800,  # 4,000 characters
        "a" * 4000,
        "asdf qwerty zxcv",
        "PET",
        "1234567890",
        "?!?!...~~~",
        "\x00\x01\x1b[31m",
        "\ud800 lone surrogate",
        "Ｆｕｌｌ　ｗｉｄｔｈ　ＰＥＴ　병",
        "<script>alert(1)</script>",
        "이코" + "\u200b" * 10,
    ],
)
def test_never_raises_on_odd_input(classifier: OfflineIntentClassifier, message: str) -> None:
    started = time.perf_counter()
    result = classifier.classify(message, history=[message])
    assert time.perf_counter() - started < 1.0
    _assert_well_formed(result)


# --- dataset ------------------------------------------------------------------------------------------


def test_training_data_is_large_and_covers_every_intent(examples: list[LabelledExample]) -> None:
    counts = Counter(example.intent for example in examples)
    assert len(examples) >= 1200
    assert all(counts[intent] >= 80 for intent in Intent), counts
    assert len({example.text for example in examples}) == len(examples)


def test_loader_names_the_line_of_an_unknown_intent() -> None:
    lines = ['{"text": "페트병", "intent": "waste"}', "", '{"text": "소파", "intent": "furniture"}']
    with pytest.raises(ValueError, match=r"data\.jsonl:3: unknown intent 'furniture'"):
        parse_examples(lines, source="data.jsonl")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["waste"]', "expected a JSON object"),
        ('{"text": "  ", "intent": "waste"}', "'text' must be a non-empty string"),
        ('{"text": "x", "intent": "waste", "also": "weather"}', "'also' must be a list"),
        ('{"text": "x", "intent": "waste", "also": ["waste"]}', "repeats an intent"),
        ('{"text": "x", "intent": "waste", "also": ["rain"]}', "unknown also 'rain'"),
        ('{"text": "x", "intent": "waste", "history": [1]}', "list of strings"),
    ],
)
def test_loader_rejects_malformed_lines(line: str, problem: str) -> None:
    with pytest.raises(DatasetError, match=problem):
        parse_examples([line], source="f.jsonl")


def test_loader_reads_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text(
        '{"text": "그럼 캔은?", "intent": "waste", "history": ["페트병 어떻게 버려?"], "note": "ok"}\n'
        '{"text": "페트병이랑 날씨", "intent": "waste", "also": ["weather"]}\n',
        encoding="utf-8",
    )
    first, second = load_examples(path)
    assert first.history == ("페트병 어떻게 버려?",)
    assert first.line == 1
    assert second.also == (Intent.WEATHER,)


# --- evaluation ---------------------------------------------------------------------------------------


class AlwaysWaste:
    """A fake classifier with a known, bad answer, so the report's arithmetic can be checked by hand."""

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        return IntentResult((IntentScore(Intent.WASTE, 0.5), IntentScore(Intent.WEATHER, 0.4)))


def test_evaluate_reports_accuracy_precision_recall_and_confusions() -> None:
    data = [
        LabelledExample("페트병", Intent.WASTE, also=(Intent.WEATHER,), line=1),
        LabelledExample("캔", Intent.WASTE, line=2),
        LabelledExample("소파", Intent.BULK_WASTE, line=3),
    ]
    report = evaluate(AlwaysWaste(), data)
    assert report.accuracy == pytest.approx(2 / 3)
    assert report.per_intent[Intent.WASTE].precision == pytest.approx(2 / 3)
    assert report.per_intent[Intent.WASTE].recall == 1.0
    assert report.per_intent[Intent.BULK_WASTE].recall == 0.0
    assert report.confusion["bulk_waste"]["waste"] == 1
    assert report.confusion["waste"]["waste"] == 2
    assert (report.secondary_expected, report.secondary_found, report.secondary_extra) == (1, 1, 3)
    assert [miss.example.line for miss in report.misclassified] == [3]
    text = format_report(report)
    assert "primary accuracy: 0.6667" in text
    assert "line 3  bulk_waste -> waste,weather" in text


def test_cross_validation_accuracy_is_at_least_90_percent(examples: list[LabelledExample]) -> None:
    report = cross_validate(examples, OfflineIntentClassifier, folds=5)
    assert report.total == len(examples)
    assert report.accuracy >= 0.9, format_report(report, errors=False)


def test_heldout_accuracy_is_at_least_90_percent(classifier: OfflineIntentClassifier) -> None:
    if not HELDOUT.is_file():
        pytest.skip(f"held-out set {HELDOUT.relative_to(ROOT)} is absent (it is written by someone else)")
    report = evaluate(classifier, load_examples(HELDOUT))
    assert report.accuracy >= 0.9, format_report(report)
