"""The recyclable-price table: one month of KECO's survey, its item catalog, and the YAML form of both.

The bundled table (``eco2/data/prices/keco_prices.yaml``) and a table imported from a KECO file share one
schema (see the README beside the bundled file), so one strict parser reads both and the importer writes
what this parser reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from eco2.errors import Eco2Error

NATIONWIDE = "전국평균"
"""The nationwide column (published, or the mean of the regions when a file lacks it)."""
REGIONS: tuple[str, ...] = ("수도권", "강원", "충북", "충남", "전북", "전남", "경북", "경남")
"""KECO's eight survey regions (권역), in the order KECO publishes them."""
COLUMNS: tuple[str, ...] = (NATIONWIDE, *REGIONS)
UNIT = "원/kg"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PriceFileError(Eco2Error):
    """A price table or a KECO file is malformed; the message names the file and the line or key."""


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """How KECO files and users name one surveyed item."""

    id: str
    name: str
    """Korean display name."""
    category: str
    keco: tuple[str, ...] = ()
    """Names KECO files use for the item (matched ignoring spaces, punctuation and word order)."""
    words: tuple[str, ...] = ()
    """What users type for it."""


@dataclass(frozen=True, slots=True)
class Survey:
    """Where a table's prices come from."""

    month: str
    """``YYYY-MM``: the survey month every answer states."""
    title: str = "한국환경공단 재활용가능자원 가격조사"
    url: str = "https://www.data.go.kr/data/3076421/fileData.do"
    unit: str = UNIT
    nationwide: str = "survey"
    """``survey`` (전국평균 as published) or ``mean`` (the simple mean of the regions in the file)."""
    imported_from: str = ""
    """File name of the KECO file an imported table came from (empty for the bundled one)."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    """One survey month of prices plus the catalog, groups and tips answers are built from."""

    survey: Survey
    prices: Mapping[str, Mapping[str, float]]
    """Item id -> column (``전국평균`` or a region) -> price in 원/kg; a missing column was not surveyed."""
    items: Mapping[str, CatalogItem]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Generic words (``캔``, ``유리병``) -> the items they stand for."""
    tips: Mapping[str, str] = field(default_factory=dict)
    overview: tuple[str, ...] = ()
    origin: str = "bundled"
    """``bundled`` or the path of the imported table."""

    def price(self, item_id: str, column: str) -> float | None:
        """The price of ``item_id`` in ``column``, or ``None`` when it was not surveyed there."""
        return self.prices.get(item_id, {}).get(column)

    def priced(self, item_id: str) -> bool:
        """Whether this month's table has any price for ``item_id``."""
        return bool(self.prices.get(item_id))


def month_label(month: str) -> str:
    """``2025-01`` -> ``2025년 1월``."""
    year, mon = month.split("-")
    return f"{year}년 {int(mon)}월"


def parse_table(text: str, where: str) -> PriceTable:
    """Parse a price table; every problem raises ``PriceFileError`` naming ``where`` and the key."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceFileError(f"{where}: not valid YAML ({exc})") from None
    doc = _mapping(raw, where)
    survey = _survey(_mapping(doc.get("survey"), f"{where}: survey"), f"{where}: survey")
    columns = tuple(_texts(doc.get("columns"), f"{where}: columns"))
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or len(set(columns)) != len(columns):
        raise PriceFileError(f"{where}: columns must be distinct names of {', '.join(COLUMNS)}, got {columns}")
    items = {
        item_id: _item(item_id, value, f"{where}: items.{item_id}")
        for item_id, value in _mapping(doc.get("items", {}), f"{where}: items").items()
    }
    prices: dict[str, dict[str, float]] = {}
    for item_id, row in _mapping(doc.get("prices"), f"{where}: prices").items():
        prices[item_id] = _row(row, columns, f"{where}: prices.{item_id}")
        if item_id not in items:
            raise PriceFileError(f"{where}: prices.{item_id} has no entry under items")
    groups = {
        str(word): tuple(_texts(ids, f"{where}: groups.{word}"))
        for word, ids in _mapping(doc.get("groups", {}), f"{where}: groups").items()
    }
    for word, ids in groups.items():
        if missing := [i for i in ids if i not in items]:
            raise PriceFileError(f"{where}: groups.{word} names unknown items {missing}")
    tips = {str(k): _text(v, f"{where}: tips.{k}") for k, v in _mapping(doc.get("tips", {}), f"{where}: tips").items()}
    overview = tuple(_texts(doc.get("overview", []), f"{where}: overview"))
    return PriceTable(survey, prices, items, groups, tips, overview)


def dump_table(table: PriceTable) -> str:
    """The YAML text of ``table`` (survey, columns, prices, and the catalog entries of its items)."""
    survey: dict[str, Any] = {
        "month": table.survey.month,
        "title": table.survey.title,
        "url": table.survey.url,
        "unit": table.survey.unit,
        "nationwide": table.survey.nationwide,
    }
    if table.survey.imported_from:
        survey["imported_from"] = table.survey.imported_from
    items = {}
    for item_id in table.prices:
        item = table.items[item_id]
        items[item_id] = {
            "name": item.name,
            "category": item.category,
            "keco": list(item.keco),
            "words": list(item.words),
        }
    doc = {
        "survey": survey,
        "columns": list(COLUMNS),
        "prices": {i: [_plain(row.get(c)) for c in COLUMNS] for i, row in table.prices.items()},
        "items": items,
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)


def _plain(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _survey(raw: Mapping[str, object], where: str) -> Survey:
    month = _text(raw.get("month"), f"{where}.month")
    match = _MONTH.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise PriceFileError(f"{where}.month must be YYYY-MM, got {month!r}")
    nationwide = str(raw.get("nationwide", "survey"))
    if nationwide not in {"survey", "mean"}:
        raise PriceFileError(f"{where}.nationwide must be survey or mean, got {nationwide!r}")
    unit = str(raw.get("unit", UNIT))
    if unit != UNIT:
        raise PriceFileError(f"{where}.unit must be {UNIT}, got {unit!r}")
    defaults = Survey(month)
    return Survey(
        month=month,
        title=str(raw.get("title") or defaults.title),
        url=str(raw.get("url") or defaults.url),
        unit=unit,
        nationwide=nationwide,
        imported_from=str(raw.get("imported_from") or ""),
    )


def _item(item_id: object, raw: object, where: str) -> CatalogItem:
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise PriceFileError(f"{where}: item ids are ascii slugs [a-z][a-z0-9_]*")
    doc = _mapping(raw, where)
    return CatalogItem(
        id=item_id,
        name=_text(doc.get("name"), f"{where}.name"),
        category=_text(doc.get("category"), f"{where}.category"),
        keco=tuple(_texts(doc.get("keco", []), f"{where}.keco")),
        words=tuple(_texts(doc.get("words", []), f"{where}.words")),
    )


def _row(raw: object, columns: tuple[str, ...], where: str) -> dict[str, float]:
    if not isinstance(raw, list) or len(raw) != len(columns):
        raise PriceFileError(f"{where}: expected a list of {len(columns)} prices (one per column)")
    row: dict[str, float] = {}
    for column, value in zip(columns, raw, strict=True):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PriceFileError(f"{where}: {column} must be a price >= 0 or null, got {value!r}")
        row[column] = float(value)
    if not row:
        raise PriceFileError(f"{where}: no prices")
    return row


def _mapping(value: object, where: str) -> Mapping[Any, object]:
    if not isinstance(value, Mapping):
        raise PriceFileError(f"{where}: expected a mapping")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PriceFileError(f"{where}: expected a non-empty string")
    return value.strip()


def _texts(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        raise PriceFileError(f"{where}: expected a list of strings")
    return [_text(v, where) for v in value]
