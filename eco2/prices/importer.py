"""Turns a KECO price file into a price table and installs it in the state directory.

Items are matched to the bundled catalog by name, ignoring spaces, punctuation, ``(잡색)`` and word order
(``압축-PET(잡색)`` is ``PET(압축)``), so an imported month answers the same user words as the bundled
one. Items the catalog does not know are kept under generated ids: the survey gained an item, and users
can still ask for it by its KECO name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from eco2.prices.keco_csv import KecoFile, KecoRow, read_keco_csv
from eco2.prices.loader import bundled_table, imported_path
from eco2.prices.table import (
    NATIONWIDE,
    REGIONS,
    CatalogItem,
    PriceFileError,
    PriceTable,
    Survey,
    dump_table,
    parse_table,
)

_TOKENS = re.compile(r"[a-z0-9]+|[가-힣]+")
_NOISE = ("잡색",)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import found, for the command's output."""

    table: PriceTable
    encoding: str
    layout: str
    rows: int
    """Item rows of the imported month."""
    older_rows: int
    """Rows of earlier months in the same file (not imported)."""
    new_items: tuple[str, ...]
    """KECO names the catalog does not know (imported under generated ids)."""


def item_key(name: str) -> str:
    """Order-insensitive key of an item name: ``압축-PET(잡색)`` and ``PET(압축)`` -> ``pet|압축``."""
    text = unicodedata.normalize("NFKC", name).lower()
    for noise in _NOISE:
        text = text.replace(noise, " ")
    return "|".join(sorted(_TOKENS.findall(text)))


def catalog_index(catalog: PriceTable) -> dict[str, str]:
    """Item key -> catalog id, from each item's display name and KECO names (first item wins)."""
    index: dict[str, str] = {}
    for item in catalog.items.values():
        for name in (item.name, *item.keco):
            index.setdefault(item_key(name), item.id)
    return index


def import_file(path: Path, month: str | None = None, catalog: PriceTable | None = None) -> ImportReport:
    """Read and validate a KECO file; ``month`` (``YYYY-MM``) is needed when the file carries no month."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    return build_table(read_keco_csv(data, path.name), path.name, month, catalog or bundled_table())


def build_table(parsed: KecoFile, source_name: str, month: str | None, catalog: PriceTable) -> ImportReport:
    """The price table of the file's latest month (or of ``month``)."""
    rows = [_with_month(row, parsed.title_month) for row in parsed.rows]
    months = {row.month for row in rows}
    if None in months:
        if month is None:
            raise PriceFileError(f"{source_name}: the file has no survey month: give one with --month YYYY-MM")
        rows = [_with_month(row, month) for row in rows]
        months = {row.month for row in rows}
    chosen = month or max(m for m in months if m is not None)
    if chosen not in months:
        found = ", ".join(sorted(m for m in months if m is not None))
        raise PriceFileError(f"{source_name}: no rows for {chosen} (the file has {found})")
    selected = [row for row in rows if row.month == chosen]
    index = catalog_index(catalog)
    items: dict[str, CatalogItem] = {}
    prices: dict[str, dict[str, float]] = {}
    lines: dict[str, int] = {}
    new_items: list[str] = []
    for row in selected:
        item_id = index.get(item_key(row.item))
        if item_id is None:
            item_id = _generated_id(row.item)
            items[item_id] = CatalogItem(item_id, row.item, row.category or "기타", (row.item,), (row.item,))
            new_items.append(row.item)
        else:
            items[item_id] = catalog.items[item_id]
        if item_id in prices:
            raise PriceFileError(
                f"{source_name}: line {row.line}: {row.item!r} repeats the item of line {lines[item_id]}"
            )
        prices[item_id] = dict(row.prices)
        lines[item_id] = row.line
    published = all(NATIONWIDE in values for values in prices.values())
    for values in prices.values():
        regional = [values[r] for r in REGIONS if r in values]
        if NATIONWIDE not in values and regional:
            values[NATIONWIDE] = round(sum(regional) / len(regional), 1)
    survey = Survey(chosen, nationwide="survey" if published else "mean", imported_from=source_name)
    table = PriceTable(survey, prices, items, origin="imported")
    return ImportReport(
        table, parsed.encoding, parsed.layout, len(selected), len(rows) - len(selected), tuple(new_items)
    )


def write_table(table: PriceTable, state_dir: Path) -> Path:
    """Install ``table`` as the imported one (atomically: readers never see half a file)."""
    text = dump_table(table)
    parse_table(text, "the table about to be written")  # what is written must load again
    target = imported_path(state_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keco_prices.", suffix=".yaml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _with_month(row: KecoRow, month: str | None) -> KecoRow:
    if row.month is not None or month is None:
        return row
    return KecoRow(row.line, month, row.item, row.category, row.prices)


def _generated_id(name: str) -> str:
    return "keco_" + hashlib.sha1(item_key(name).encode(), usedforsecurity=False).hexdigest()[:10]
