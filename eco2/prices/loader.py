"""Which price table answers: the bundled one, or a newer one imported with ``eco2 prices import``.

KECO publishes a new survey every month as a file, not an API, so a deployment refreshes its prices by
importing the file into the state directory; the bundled table is the floor every install starts from.
Workers notice a new import without restarting: :class:`PriceBook` re-reads the imported file when its
modification time changes (one ``stat`` per question).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

from eco2.prices.table import PriceFileError, PriceTable, parse_table

log = logging.getLogger(__name__)

IMPORTED_NAME = "keco_prices.yaml"


def imported_path(state_dir: Path) -> Path:
    """Where ``eco2 prices import`` writes the imported table."""
    return state_dir / "prices" / IMPORTED_NAME


@lru_cache(maxsize=1)
def bundled_table() -> PriceTable:
    """The table shipped in ``eco2/data/prices/keco_prices.yaml`` (parsed once per process)."""
    text = (resources.files("eco2") / "data" / "prices" / "keco_prices.yaml").read_text("utf-8")
    return parse_table(text, "eco2/data/prices/keco_prices.yaml")


def with_catalog(imported: PriceTable, bundled: PriceTable, origin: str) -> PriceTable:
    """``imported``'s prices with the bundled catalog's words, groups, tips and overview merged in.

    An imported file carries prices and KECO names; what users call the items (and the group words) lives
    in the bundled catalog, so a newer release's better synonyms also apply to an older import.
    """
    items = dict(bundled.items)
    for item_id, item in imported.items.items():
        known = items.get(item_id)
        if known is None:
            items[item_id] = item
        else:
            words = tuple(dict.fromkeys((*known.words, *item.words)))
            keco = tuple(dict.fromkeys((*known.keco, *item.keco)))
            items[item_id] = replace(known, words=words, keco=keco)
    return replace(
        imported,
        items=items,
        groups=bundled.groups,
        tips=bundled.tips,
        overview=bundled.overview,
        origin=origin,
    )


def load_imported(path: Path) -> PriceTable:
    """Parse an imported table and merge the bundled catalog into it."""
    table = parse_table(path.read_text("utf-8"), str(path))
    return with_catalog(table, bundled_table(), str(path))


class PriceBook:
    """The active table: the imported one when its month is the same as or newer than the bundled one's."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = imported_path(state_dir) if state_dir is not None else None
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._imported: PriceTable | None = None

    def current(self) -> PriceTable:
        """The table to answer from now."""
        bundled = bundled_table()
        imported = self._refresh()
        if imported is not None and imported.survey.month >= bundled.survey.month:
            return imported
        return bundled

    def _refresh(self) -> PriceTable | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._seen:
                self._seen = stamp
                try:
                    self._imported = load_imported(self._path)
                except (OSError, UnicodeDecodeError, PriceFileError) as exc:
                    # A broken import must not take the subagent down: the bundled table still answers.
                    log.warning("ignoring the imported price table: %s", exc)
                    self._imported = None
            return self._imported
