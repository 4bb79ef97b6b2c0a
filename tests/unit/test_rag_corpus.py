"""The bundled waste corpus is complete and well formed, and the loader rejects malformed files clearly."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from eco2.rag import CorpusError, WasteItem, load_corpus

CATEGORIES = (
    "paper",
    "paper_pack",
    "metal",
    "glass",
    "plastic",
    "clear_pet",
    "vinyl",
    "styrofoam",
    "clothing",
    "battery",
    "lamp",
    "small_electronics",
    "large_electronics",
    "food_waste",
    "not_food_waste",
    "general",
    "non_combustible",
    "bulky",
    "hazardous",
    "medicine",
)

VALID_ITEM = """\
  - id: {item_id}
    name: 테스트 물건
    aliases: [테스트]
    steps:
      - 첫째 단계입니다.
      - 둘째 단계입니다.
    bin: 일반 종량제봉투
"""


def _write_category(directory: Path, category_id: str, items: str) -> Path:
    path = directory / f"{category_id}.yaml"
    path.write_text(
        f"category:\n  id: {category_id}\n  name: 테스트\n  summary: 테스트 분류입니다.\nitems:\n{items}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def corpus() -> tuple[WasteItem, ...]:
    return load_corpus()


def test_bundled_corpus_has_at_least_220_items(corpus: tuple[WasteItem, ...]) -> None:
    assert len(corpus) >= 220


@pytest.mark.parametrize("category_id", CATEGORIES)
def test_every_category_is_present_with_at_least_six_items(corpus: tuple[WasteItem, ...], category_id: str) -> None:
    count = sum(1 for item in corpus if item.category.id == category_id)
    assert count >= 6, f"{category_id} has {count} items"


def test_corpus_has_no_categories_beyond_the_known_ones(corpus: tuple[WasteItem, ...]) -> None:
    assert {item.category.id for item in corpus} == set(CATEGORIES)


def test_item_ids_are_unique_ascii_slugs(corpus: tuple[WasteItem, ...]) -> None:
    counts = Counter(item.id for item in corpus)
    assert [item_id for item_id, count in counts.items() if count > 1] == []
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", item.id) for item in corpus)


def test_every_item_has_two_to_five_steps_a_bin_and_korean_text(corpus: tuple[WasteItem, ...]) -> None:
    for item in corpus:
        assert 2 <= len(item.steps) <= 5, item.id
        assert item.bin, item.id
        assert re.search(r"[\uac00-\ud7a3]", item.name), item.id
        assert all(step.strip() for step in item.steps), item.id


def test_every_item_has_distinct_aliases_other_than_its_name(corpus: tuple[WasteItem, ...]) -> None:
    for item in corpus:
        assert item.aliases, item.id
        assert len(set(item.aliases)) == len(item.aliases), f"{item.id} repeats an alias"
        assert item.name not in item.aliases, f"{item.id} lists its name as an alias"


def test_items_are_immutable(corpus: tuple[WasteItem, ...]) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        corpus[0].name = "바뀐 이름"  # type: ignore[misc]


def test_items_of_a_category_share_one_category_object(corpus: tuple[WasteItem, ...]) -> None:
    by_category: dict[str, set[int]] = {}
    for item in corpus:
        by_category.setdefault(item.category.id, set()).add(id(item.category))
    assert all(len(objects) == 1 for objects in by_category.values())


def test_a_given_directory_is_loaded_in_file_order(tmp_path: Path) -> None:
    _write_category(tmp_path, "b_second", VALID_ITEM.format(item_id="second"))
    _write_category(tmp_path, "a_first", VALID_ITEM.format(item_id="first"))

    items = load_corpus(tmp_path)

    assert [item.id for item in items] == ["first", "second"]
    assert items[0].cautions == ()
    assert items[0].steps == ("첫째 단계입니다.", "둘째 단계입니다.")


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("category: [unclosed\n", encoding="utf-8")

    with pytest.raises(CorpusError, match=r"broken\.yaml: invalid YAML"):
        load_corpus(tmp_path)


def test_unknown_field_names_the_file_and_item(tmp_path: Path) -> None:
    item = VALID_ITEM.format(item_id="typo_item") + "    caution: [오타]\n"
    _write_category(tmp_path, "general", item)

    with pytest.raises(CorpusError, match=r"general\.yaml: item 'typo_item': unknown field\(s\) caution"):
        load_corpus(tmp_path)


def test_missing_field_names_the_file_and_item(tmp_path: Path) -> None:
    item = VALID_ITEM.format(item_id="no_bin").replace("    bin: 일반 종량제봉투\n", "")
    _write_category(tmp_path, "general", item)

    with pytest.raises(CorpusError, match=r"general\.yaml: item 'no_bin': missing field\(s\) bin"):
        load_corpus(tmp_path)


def test_duplicate_id_across_files_names_both_files(tmp_path: Path) -> None:
    _write_category(tmp_path, "glass", VALID_ITEM.format(item_id="bottle"))
    _write_category(tmp_path, "plastic", VALID_ITEM.format(item_id="bottle"))

    with pytest.raises(CorpusError, match=r"plastic\.yaml: item 'bottle': duplicate id.*glass\.yaml"):
        load_corpus(tmp_path)


def test_single_step_is_rejected(tmp_path: Path) -> None:
    item = VALID_ITEM.format(item_id="short").replace("      - 둘째 단계입니다.\n", "")
    _write_category(tmp_path, "general", item)

    with pytest.raises(CorpusError, match=r"item 'short': steps must list 2 to 5"):
        load_corpus(tmp_path)


def test_non_string_alias_is_rejected(tmp_path: Path) -> None:
    item = VALID_ITEM.format(item_id="numeric").replace("aliases: [테스트]", "aliases: [테스트, 42]")
    _write_category(tmp_path, "general", item)

    with pytest.raises(CorpusError, match=r"item 'numeric': aliases\[1\]: expected a non-empty string"):
        load_corpus(tmp_path)


def test_category_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = _write_category(tmp_path, "paper", VALID_ITEM.format(item_id="sheet"))
    path.rename(tmp_path / "papers.yaml")

    with pytest.raises(CorpusError, match=r"papers\.yaml: category id 'paper' must match"):
        load_corpus(tmp_path)


def test_directory_without_category_files_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no category files"):
        load_corpus(tmp_path)


def test_corpus_error_is_a_value_error() -> None:
    assert issubclass(CorpusError, ValueError)
