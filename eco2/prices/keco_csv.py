"""Reads KECO's monthly price file (data.go.kr file dataset 3076421) into rows of prices per region.

What the file looks like, and what this reader accepts:

- **Encoding**: UTF-8 (with or without BOM) or CP949/EUC-KR, which KECO and Excel on Korean Windows use;
  UTF-16 with a BOM (Excel's "Unicode text") too. Anything else is refused rather than guessed.
- **Wide layout** (the published one): a header row, then one row per item:
  ``조사년월, 품목, 수도권, 강원, 충북, 충남, 전북, 전남, 경북, 경남`` with prices in 원/kg. The file has
  no 전국평균 column (KECO's web page does); a ``전국평균`` column is used when present. Optional columns:
  a category (``분류``/``구분``, filled down when left blank under a merged cell), ``단위`` (must be
  원/kg), ``순번``/``비고`` (ignored). Region headers may carry a note (``수도권(서울·인천·경기)``).
- **Long layout** (an export of KECO's API, ``exmnYmd, itemNm, stdgNm, mrktPrc``): one row per item and
  region, with ``권역`` and ``가격`` columns.
- **Months**: ``2025-01``, ``2025.01``, ``202501``, ``2025-01-10``, ``2025년 1월``; a blank date cell
  repeats the one above (merged cells). A title row above the header may carry the month instead.

Every problem raises :class:`PriceFileError` naming the line (1-based, as an editor shows it).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass

from eco2.prices.table import COLUMNS, NATIONWIDE, REGIONS, PriceFileError

_REGION_ALIASES = {
    "전국": NATIONWIDE, "전국평균": NATIONWIDE, "평균": NATIONWIDE, "전국평균가격": NATIONWIDE,
    "수도권": "수도권", "서울경기": "수도권", "서울인천경기": "수도권", "경인": "수도권",
    "강원": "강원", "강원도": "강원", "강원특별자치도": "강원",
    "충북": "충북", "충청북도": "충북", "충남": "충남", "충청남도": "충남",
    "전북": "전북", "전라북도": "전북", "전북특별자치도": "전북", "전남": "전남", "전라남도": "전남",
    "경북": "경북", "경상북도": "경북", "경남": "경남", "경상남도": "경남",
}  # fmt: skip
_DATE = {"조사년월", "조사연월", "조사일자", "조사일", "조사월", "조사기간", "조사년월일", "기준년월", "기준연월",
         "기준일자", "기준일", "년월", "연월", "일자", "날짜", "exmnymd"}  # fmt: skip
_ITEM = ("품목", "품목명", "품명", "세부품목", "재활용품목", "itemnm", "구분")
_CATEGORY = {"분류", "대분류", "품목구분", "품목분류", "종류", "구분", "자원", "재활용자원", "품목군"}
_UNIT = {"단위"}
_IGNORED = {"순번", "번호", "연번", "no", "비고", "조사기관"}
_REGION_COLUMN = {"권역", "권역명", "권역구분", "지역", "지역명", "stdgnm"}
_PRICE_COLUMN = {"가격", "단가", "시세", "평균가격", "평균단가", "조사가격", "mrktprc"}
_MISSING = {"", "-", "–", "—", "n/a", "na", "x", "."}
_MONTH_PATTERNS = (
    re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})(?!\d)"),
    re.compile(r"^(\d{4})(\d{2})(?:\d{2})?$"),
)
HEADER_SEARCH_ROWS = 5


@dataclass(frozen=True, slots=True)
class KecoRow:
    """One item's prices of one month, as the file gives them."""

    line: int
    month: str | None
    item: str
    category: str
    prices: dict[str, float]
    """Column (a region or 전국평균) -> 원/kg; columns left blank are absent."""


@dataclass(frozen=True, slots=True)
class KecoFile:
    """The parsed content of a KECO file."""

    encoding: str
    layout: str
    """``wide`` or ``long``."""
    rows: tuple[KecoRow, ...]
    title_month: str | None
    """A month found in a title row above the header, used when rows carry none."""


def decode(data: bytes, where: str) -> tuple[str, str]:
    """The text of ``data`` and the encoding it was in (UTF-8, CP949/EUC-KR or BOM-marked UTF-16)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "cp949")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise PriceFileError(f"{where}: cannot decode the file: it is neither UTF-8 nor CP949/EUC-KR text")


def parse_month(text: str) -> str | None:
    """``YYYY-MM`` from the ways KECO files write a survey month, or ``None``."""
    value = unicodedata.normalize("NFKC", text).strip()
    for pattern in _MONTH_PATTERNS:
        match = pattern.search(value)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return f"{year:04d}-{month:02d}"
    return None


def read_keco_csv(data: bytes, where: str) -> KecoFile:
    """Parse a KECO price file; ``where`` (the file name) prefixes every error."""
    text, encoding = decode(data, where)
    dialect = _dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            records.append((reader.line_num, [unicodedata.normalize("NFKC", c).strip() for c in cells]))
    except csv.Error as exc:
        raise PriceFileError(f"{where}: line {reader.line_num}: {exc}") from None
    records = [(line, cells) for line, cells in records if any(cells)]
    if not records:
        raise PriceFileError(f"{where}: the file has no rows")
    title_month: str | None = None
    for index, (line, cells) in enumerate(records[:HEADER_SEARCH_ROWS]):
        header = _Header.detect(cells)
        if header is not None:
            parse = _wide_rows if header.regions else _long_rows
            rows = parse(header, records[index + 1 :], line, where)
            if not rows:
                raise PriceFileError(f"{where}: line {line}: a header but no item rows after it")
            return KecoFile(encoding, "wide" if header.regions else "long", tuple(rows), title_month)
        title_month = title_month or parse_month(" ".join(cells))
    line, cells = records[0]
    raise PriceFileError(
        f"{where}: line {line}: no header row found (expected 품목 and the regions {', '.join(REGIONS)}, "
        f"or 품목/권역/가격 columns); the first row is {', '.join(cells)[:120]!r}"
    )


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(first, delimiters=",\t;")
    except csv.Error:
        return csv.excel


def _label(cell: str) -> str:
    without_notes = re.sub(r"\(.*?\)|\[.*?\]", "", cell)
    return "".join(without_notes.split()).lower()


@dataclass(slots=True)
class _Header:
    """Which column holds what."""

    item: int
    date: int | None
    category: int | None
    unit: int | None
    regions: dict[int, str]
    region: int | None = None
    price: int | None = None
    unknown: tuple[str, ...] = ()

    @classmethod
    def detect(cls, cells: list[str]) -> _Header | None:
        labels = [_label(c) for c in cells]
        item = next((labels.index(name) for name in _ITEM if name in labels), None)
        if item is None:
            return None
        header = cls(item=item, date=None, category=None, unit=None, regions={})
        unknown: list[str] = []
        for index, label in enumerate(labels):
            if index == item or not label:
                continue
            role = _role(label)
            if role == "region":
                if _REGION_ALIASES[label] in header.regions.values():
                    return None  # the same region twice: not a header this reader understands
                header.regions[index] = _REGION_ALIASES[label]
            elif role in {"date", "category"}:
                if getattr(header, role) is None:  # the first such column wins
                    setattr(header, role, index)
            elif role in {"unit", "region_column", "price"}:
                setattr(header, {"region_column": "region"}.get(role, role), index)
            elif role == "unknown":
                unknown.append(cells[index])
        header.unknown = tuple(unknown)
        if header.regions and len(header.regions) >= 2:
            return header
        if header.region is not None and header.price is not None:
            header.regions = {}
            return header
        return None


def _role(label: str) -> str:
    """What a header label names: a region, a date, a category, a unit, a long layout's columns, or nothing."""
    if label in _REGION_ALIASES:
        return "region"
    if label in _DATE or "년월" in label or "연월" in label:
        return "date"
    roles = (
        (_CATEGORY, "category"),
        (_UNIT, "unit"),
        (_REGION_COLUMN, "region_column"),
        (_PRICE_COLUMN, "price"),
        (_IGNORED, "ignored"),
    )
    role = next((name for names, name in roles if label in names), None)
    if role is None and label.startswith("가격"):
        role = "price"
    return role or "unknown"


def _check_unknown(header: _Header, line: int, where: str) -> None:
    if header.unknown:
        names = ", ".join(repr(u) for u in header.unknown)
        raise PriceFileError(f"{where}: line {line}: unknown column {names}: the KECO regions are {', '.join(COLUMNS)}")


def _price(cell: str, line: int, column: str, where: str) -> float | None:
    value = cell.replace(",", "").removesuffix("원").strip()
    if value.lower() in _MISSING:
        return None
    try:
        price = float(value)
    except ValueError:
        raise PriceFileError(f"{where}: line {line}: {column} price {cell!r} is not a number") from None
    if not math.isfinite(price) or price < 0:
        raise PriceFileError(f"{where}: line {line}: {column} price {cell!r} must be a number >= 0")
    return price


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _month_cell(cells: list[str], header: _Header, previous: str | None, line: int, where: str) -> str | None:
    raw = _cell(cells, header.date)
    if header.date is None or not raw:
        return previous
    month = parse_month(raw)
    if month is None:
        raise PriceFileError(f"{where}: line {line}: survey month {raw!r} is not a date like 2025-01")
    return month


def _check_unit(cells: list[str], header: _Header, line: int, where: str) -> None:
    unit = "".join(_cell(cells, header.unit).split()).lower()
    if unit and unit not in {"원/kg", "원kg", "kg"}:
        raise PriceFileError(f"{where}: line {line}: unit {unit!r} is not 원/kg")


def _wide_rows(header: _Header, records: list[tuple[int, list[str]]], header_line: int, where: str) -> list[KecoRow]:
    _check_unknown(header, header_line, where)
    rows: list[KecoRow] = []
    month: str | None = None
    category = ""
    width = max([header.item, *header.regions, header.date or 0, header.category or 0, header.unit or 0])
    for line, cells in records:
        if any(cells[width + 1 :]):
            raise PriceFileError(f"{where}: line {line}: more cells than the header (line {header_line}) has")
        category = _cell(cells, header.category) or category
        month = _month_cell(cells, header, month, line, where)
        prices = {
            column: price
            for index, column in header.regions.items()
            if (price := _price(_cell(cells, index), line, column, where)) is not None
        }
        item = _cell(cells, header.item)
        if not item:
            if prices:
                raise PriceFileError(f"{where}: line {line}: prices without an item name")
            continue  # a section row ("폐지류") or a note
        _check_unit(cells, header, line, where)
        if not prices:
            raise PriceFileError(f"{where}: line {line}: item {item!r} has no price in any region")
        rows.append(KecoRow(line, month, item, category, prices))
    return rows


def _long_rows(header: _Header, records: list[tuple[int, list[str]]], header_line: int, where: str) -> list[KecoRow]:
    _check_unknown(header, header_line, where)
    merged: dict[tuple[str | None, str], KecoRow] = {}
    month: str | None = None
    category = ""
    for line, cells in records:
        category = _cell(cells, header.category) or category
        month = _month_cell(cells, header, month, line, where)
        item, region_raw = _cell(cells, header.item), _cell(cells, header.region)
        if not item or not region_raw:
            raise PriceFileError(f"{where}: line {line}: every row needs an item and a region")
        region = _REGION_ALIASES.get(_label(region_raw))
        if region is None:
            raise PriceFileError(
                f"{where}: line {line}: unknown region {region_raw!r}: the KECO regions are {', '.join(COLUMNS)}"
            )
        _check_unit(cells, header, line, where)
        price = _price(_cell(cells, header.price), line, region, where)
        row = merged.setdefault((month, item), KecoRow(line, month, item, category, {}))
        if region in row.prices:
            raise PriceFileError(f"{where}: line {line}: a second {region} price for {item!r} (line {row.line})")
        if price is not None:
            row.prices[region] = price
    return [row for row in merged.values() if row.prices]
