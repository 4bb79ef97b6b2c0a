"""The waste knowledge base: disposal categories and the items in them, loaded from bundled YAML.

The data lives in ``eco2/data/waste/<category_id>.yaml`` (schema in that folder's README). It is hand
written, so the loader is strict: an unknown key is far more often a typo (``caution`` for ``cautions``)
than an intended extension, and a silently dropped field would give users an incomplete answer. Every
problem raises :class:`CorpusError` naming the file and, where there is one, the item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from operator import attrgetter
from pathlib import Path

import yaml

__all__ = ["CorpusError", "WasteCategory", "WasteItem", "load_corpus"]

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_CATEGORY_KEYS = frozenset({"id", "name", "summary"})
_ITEM_REQUIRED = frozenset({"id", "name", "aliases", "steps", "bin"})
_ITEM_OPTIONAL = frozenset({"cautions"})
_MIN_STEPS = 2
_MAX_STEPS = 5


class CorpusError(ValueError):
    """The bundled (or given) corpus is malformed; the message names the file and item at fault."""


@dataclass(frozen=True, slots=True)
class WasteCategory:
    """A disposal category such as ``clear_pet`` (무색 페트병): where a family of items ends up."""

    id: str
    """ASCII slug, equal to the YAML file's stem."""
    name: str
    """Korean display name, e.g. ``무색 페트병``."""
    summary: str
    """One Korean sentence saying what belongs here and why it is sorted separately."""


@dataclass(frozen=True, slots=True)
class WasteItem:
    """One thing a user may want to throw away, with the concrete steps to do it right."""

    id: str
    """ASCII slug, unique across the whole corpus."""
    name: str
    """Korean display name."""
    category: WasteCategory
    """The category whose file declares this item."""
    aliases: tuple[str, ...]
    """Other words users type for it: spelling variants, colloquial and brand names, English."""
    steps: tuple[str, ...]
    """Ordered disposal steps, two to five short Korean sentences."""
    cautions: tuple[str, ...]
    """Common mistakes and exceptions (may be empty)."""
    bin: str
    """Short Korean label of where it finally goes, e.g. ``플라스틱류 분리수거함``."""


def load_corpus(directory: Path | None = None) -> tuple[WasteItem, ...]:
    """Load and validate every ``*.yaml`` category file; ``None`` means the data bundled with eco2.

    Items come back in file-name order, then in the order each file lists them, so results are stable.
    """
    root: Traversable = directory if directory is not None else _bundled_directory()
    files = sorted((entry for entry in root.iterdir() if entry.name.endswith(".yaml")), key=attrgetter("name"))
    if not files:
        raise CorpusError(f"{root}: no category files (*.yaml) found")
    items: list[WasteItem] = []
    seen_items: dict[str, str] = {}
    for file in files:
        # Category ids need no duplicate check: each must equal its file's name.
        for item in _parse_file(file):
            if item.id in seen_items:
                raise CorpusError(
                    f"{file.name}: item {item.id!r}: duplicate id, already declared in {seen_items[item.id]}"
                )
            seen_items[item.id] = file.name
            items.append(item)
    return tuple(items)


def _bundled_directory() -> Traversable:
    return resources.files("eco2") / "data" / "waste"


def _parse_file(file: Traversable) -> list[WasteItem]:
    where = file.name
    try:
        document = _load_yaml(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{where}: invalid YAML: {exc}") from exc
    top = _mapping(document, where)
    _check_keys(top, required=frozenset({"category", "items"}), optional=frozenset(), where=where)
    category = _parse_category(_mapping(top["category"], f"{where}: category"), where)
    stem = where.removesuffix(".yaml")
    if category.id != stem:
        raise CorpusError(f"{where}: category id {category.id!r} must match the file name {stem!r}")
    raw_items = top["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise CorpusError(f"{where}: 'items' must be a non-empty list")
    return [_parse_item(raw, category, where, index) for index, raw in enumerate(raw_items)]


def _load_yaml(text: str) -> object:
    # libyaml's safe loader parses the corpus ten times faster than the pure-Python one; same semantics.
    if yaml.__with_libyaml__:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def _parse_category(raw: Mapping[str, object], where: str) -> WasteCategory:
    _check_keys(raw, required=_CATEGORY_KEYS, optional=frozenset(), where=f"{where}: category")
    category_id = _text(raw["id"], f"{where}: category.id")
    if not _ID_PATTERN.match(category_id):
        raise CorpusError(f"{where}: category id {category_id!r} must be a lowercase ascii slug")
    return WasteCategory(
        id=category_id,
        name=_text(raw["name"], f"{where}: category.name"),
        summary=_text(raw["summary"], f"{where}: category.summary"),
    )


def _parse_item(raw: object, category: WasteCategory, where: str, index: int) -> WasteItem:
    mapping = _mapping(raw, f"{where}: item #{index + 1}")
    item_id = mapping.get("id")
    label = f"{where}: item {item_id!r}" if isinstance(item_id, str) else f"{where}: item #{index + 1}"
    _check_keys(mapping, required=_ITEM_REQUIRED, optional=_ITEM_OPTIONAL, where=label)
    checked_id = _text(item_id, f"{label}: id")
    if not _ID_PATTERN.match(checked_id):
        raise CorpusError(f"{label}: id must be a lowercase ascii slug")
    steps = _texts(mapping["steps"], f"{label}: steps")
    if not _MIN_STEPS <= len(steps) <= _MAX_STEPS:
        raise CorpusError(f"{label}: steps must list {_MIN_STEPS} to {_MAX_STEPS} sentences, got {len(steps)}")
    return WasteItem(
        id=checked_id,
        name=_text(mapping["name"], f"{label}: name"),
        category=category,
        aliases=_texts(mapping["aliases"], f"{label}: aliases"),
        steps=steps,
        cautions=_texts(mapping.get("cautions", []), f"{label}: cautions"),
        bin=_text(mapping["bin"], f"{label}: bin"),
    )


def _check_keys(raw: Mapping[str, object], *, required: frozenset[str], optional: frozenset[str], where: str) -> None:
    missing = sorted(required - raw.keys())
    if missing:
        raise CorpusError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(str(key) for key in raw.keys() - required - optional)
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: expected a non-empty string")
    return value.strip()


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise CorpusError(f"{where}: expected a list of strings")
    return tuple(_text(element, f"{where}[{position}]") for position, element in enumerate(value))
