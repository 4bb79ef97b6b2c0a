"""Korean retrieval over the waste corpus: matching, weak detection, speed, and the held-out evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eco2.rag import WasteItem, WasteRetriever, load_corpus
from eco2.rag._bm25 import Bm25Index
from eco2.rag.evaluation import EvalQuestion, evaluate, load_questions

EVAL_FILE = Path(__file__).resolve().parents[1] / "data" / "waste_rag_eval.yaml"


@pytest.fixture(scope="module")
def retriever() -> WasteRetriever:
    return WasteRetriever.default()


@pytest.fixture(scope="module")
def top_id(retriever: WasteRetriever) -> Callable[[str], str | None]:
    def search(query: str) -> str | None:
        best = retriever.search(query).best
        return best.id if best else None

    return search


def test_default_is_built_once_per_process() -> None:
    assert WasteRetriever.default() is WasteRetriever.default()


def test_building_over_the_bundled_corpus_takes_well_under_a_second() -> None:
    # Best of two, so that a busy CI machine measures the cost rather than the scheduler.
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        WasteRetriever(load_corpus())
        timings.append(time.perf_counter() - started)
    assert min(timings) < 1.0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("생수병 어떻게 버려?", "water_bottle"),
        ("스티로폼 박스 버리는 법", "styrofoam_box"),
        ("밧데리 어디에 버려요", "aa_battery"),
        ("쇼파 버리고 싶어", "sofa"),
        ("에어콘 처분", "air_conditioner"),
        ("PET", "water_bottle"),
        ("KF94 마스크", "face_mask"),
        ("뽁뽁이", "bubble_wrap"),
    ],
)
def test_finds_items_through_their_aliases(top_id: Callable[[str], str | None], query: str, expected: str) -> None:
    assert top_id(query) == expected


@pytest.mark.parametrize("query", ["페트병", "페트병은", "페트병을 어떻게", "페트 병", "패트병", "페트병버리는법"])
def test_particles_spacing_and_vowel_typos_still_find_clear_pet(retriever: WasteRetriever, query: str) -> None:
    result = retriever.search(query)
    assert result.best is not None
    assert result.best.category.id == "clear_pet"
    assert not result.weak


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("후라이펜", "frying_pan"),
        ("매트리쓰 버리기", "mattress"),
        ("냉장꼬 버려야 돼", "refrigerator"),
        ("세탁끼 고장났어", "washing_machine"),
        ("쥬스팩", "juice_carton"),
    ],
)
def test_typos_still_find_the_item(top_id: Callable[[str], str | None], query: str, expected: str) -> None:
    assert top_id(query) == expected


def test_a_rare_word_said_exactly_beats_common_words(top_id: Callable[[str], str | None]) -> None:
    # 라돈 names the item; 침대 and 매트리스 are shared with ordinary bulky waste.
    assert top_id("라돈 나온 침대 매트리스") == "radon_products"


def test_chicken_bones_are_not_food_waste(retriever: WasteRetriever) -> None:
    result = retriever.search("치킨 뼈는 음식물쓰레기야?")
    assert result.best is not None
    assert result.best.id == "chicken_bones"
    assert result.best.bin == "일반 종량제봉투"


@pytest.mark.parametrize(
    "query",
    ["양자역학 설명해줘", "오늘 날씨 어때?", "안녕하세요", "주식 추천 좀 해줘", "", "???", "어떻게 버려?"],
)
def test_out_of_scope_questions_are_weak(retriever: WasteRetriever, query: str) -> None:
    result = retriever.search(query)
    assert result.weak
    assert result.quality < retriever.weak_threshold


def test_a_plain_disposal_question_is_not_weak(retriever: WasteRetriever) -> None:
    result = retriever.search("페트병 어떻게 버려")
    assert not result.weak
    assert result.quality >= 0.9


@pytest.mark.parametrize("query", ["페트병", "깨진 유리 어디에", "양자역학", "먹다 남은 치킨 뼈랑 양념 통"])
def test_quality_is_within_the_unit_interval(retriever: WasteRetriever, query: str) -> None:
    assert 0.0 <= retriever.search(query).quality <= 1.0


def test_hits_are_ordered_and_limited_to_k(retriever: WasteRetriever) -> None:
    hits = retriever.search("플라스틱 용기", k=5).hits
    assert len(hits) == 5
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert len({hit.item.id for hit in hits}) == 5


def test_k_must_be_positive(retriever: WasteRetriever) -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        retriever.search("페트병", k=0)


def test_weak_means_quality_below_the_threshold(retriever: WasteRetriever) -> None:
    query = "세탁끼 고장났어"  # a typo leaves half of the word unmatched
    quality = retriever.search(query).quality
    assert 0.0 < quality < 1.0
    assert WasteRetriever(retriever.items, weak_threshold=quality + 0.01).search(query).weak
    assert not WasteRetriever(retriever.items, weak_threshold=quality).search(query).weak


def test_invalid_construction_is_rejected(retriever: WasteRetriever) -> None:
    with pytest.raises(ValueError, match="at least one item"):
        WasteRetriever([])
    with pytest.raises(ValueError, match="weak_threshold"):
        WasteRetriever(retriever.items, weak_threshold=1.5)


def test_a_small_corpus_works_without_the_bundled_data(retriever: WasteRetriever) -> None:
    picked: list[WasteItem] = [item for item in retriever.items if item.category.id == "battery"]
    small = WasteRetriever(picked)
    result = small.search("보조배터리 버리는 법")
    assert result.best is not None
    assert result.best.id == "power_bank"


def test_bm25_scores_equal_the_bm25s_reference() -> None:
    bm25s = pytest.importorskip("bm25s")
    documents = [["페트", "트병", "페트"], ["유리", "리병"], ["페트", "유리", "캔", "캔"], ["종이"]]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index(documents, show_progress=False)
    ours = Bm25Index(documents, k1=1.2, b=0.75)
    for query in (["페트"], ["유리", "캔"], ["페트", "트병", "종이"]):
        expected = reference.get_scores(query)
        actual = ours.scores([(token, 1.0) for token in query])
        assert actual == pytest.approx(list(expected), rel=1e-5)


def test_eval_set_is_large_varied_and_covers_every_category(retriever: WasteRetriever) -> None:
    questions = load_questions(EVAL_FILE)
    report = evaluate(retriever, questions)
    by_id = {item.id: item for item in retriever.items}
    covered = {by_id[q.expected[0]].category.id for q in questions if not q.out_of_scope}

    assert report.in_scope >= 120
    assert report.out_of_scope >= 20
    assert report.paraphrase_share >= 1 / 3
    assert covered == {item.category.id for item in retriever.items}


def test_eval_meets_its_targets(retriever: WasteRetriever) -> None:
    report = evaluate(retriever, load_questions(EVAL_FILE))
    missed = [miss.question.text for miss in report.misses]

    assert report.hit_at_1 >= 0.90, missed
    assert report.hit_at_3 >= 0.95
    assert report.weak_precision >= 0.85
    assert report.weak_recall >= 0.75


def test_eval_metric_fails_when_labels_are_wrong(retriever: WasteRetriever) -> None:
    # Guards the eval test itself: pairing every question with another one's label must collapse hit@1.
    questions = [q for q in load_questions(EVAL_FILE) if not q.out_of_scope]
    ids = [q.expected[0] for q in questions]
    shifted = [EvalQuestion(q.text, (ids[(i + len(ids) // 2) % len(ids)],)) for i, q in enumerate(questions)]
    assert evaluate(retriever, shifted).hit_at_1 < 0.2
