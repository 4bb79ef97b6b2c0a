"""The bundled fee table of bulky items (``eco2/data/bulk_waste/fees.yaml``): typical national ranges and the
fees some districts post, because no public API returns them.

Read once per process on first use (:func:`load_fee_table`); besides ``bulk_waste`` itself, the follow-up
resolver (``eco2.orchestrator.followup``) uses its item names to tell a bulky item in a short reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from eco2.domain.districts import District


@dataclass(frozen=True, slots=True)
class Fee:
    """One fee row: an exact amount (``fee``) or a range (``low``..``high``)."""

    spec: str
    low: int
    high: int

    def text(self) -> str:
        """``2,000원``, ``무료`` or ``약 3,000~7,000원``."""
        if self.high == 0:
            return "무료(무상수거)"
        if self.low == self.high:
            return f"{self.low:,}원"
        return f"약 {self.low:,}~{self.high:,}원"


@dataclass(frozen=True, slots=True)
class Item:
    """A typical bulky item with its aliases and national typical range."""

    id: str
    name: str
    aliases: tuple[str, ...]
    typical: tuple[Fee, ...]
    free_pickup: bool = False


@dataclass(frozen=True, slots=True)
class DistrictFees:
    """A district's pages and the rows of its posted fee schedule this table holds."""

    sido: str
    sigungu: str
    application_url: str
    fee_url: str
    phone: str
    source_title: str
    source_url: str
    as_of: str
    fees: dict[str, tuple[Fee, ...]]


@dataclass(frozen=True, slots=True)
class FeeTable:
    """``fees.yaml`` parsed."""

    caveat: str
    free_pickup: dict[str, str]
    apps: tuple[dict[str, str], ...]
    items: tuple[Item, ...]
    districts: tuple[DistrictFees, ...]

    def find_items(self, text: str) -> list[Item]:
        """Items named in ``text`` (longest alias first, so "침대 매트리스" is a mattress, not a bed)."""
        pairs = sorted(((a, item) for item in self.items for a in item.aliases), key=lambda p: -len(p[0]))
        found: list[Item] = []
        lowered = text.lower()
        for alias, item in pairs:
            if alias.lower() in lowered:
                lowered = lowered.replace(alias.lower(), " ")
                if item not in found:
                    found.append(item)
        return found

    def district(self, district: District) -> DistrictFees | None:
        """The table's entry for ``district`` (a 구 inside a city falls back to the city)."""
        for entry in self.districts:
            if entry.sido == district.sido and entry.sigungu == district.sigungu:
                return entry
        return None


def _fees(rows: list[dict[str, Any]]) -> tuple[Fee, ...]:
    out = []
    for row in rows:
        if "fee" in row:
            out.append(Fee(str(row["spec"]), int(row["fee"]), int(row["fee"])))
        else:
            out.append(Fee(str(row["spec"]), int(row["min"]), int(row["max"])))
    return tuple(out)


@lru_cache(maxsize=1)
def load_fee_table() -> FeeTable:
    """The bundled fee table, parsed once per process."""
    raw = yaml.safe_load(resources.files("eco2.data").joinpath("bulk_waste/fees.yaml").read_text("utf-8"))
    items = tuple(
        Item(key, str(v["name"]), tuple(v["aliases"]), _fees(v["typical"]), bool(v.get("free_pickup")))
        for key, v in raw["items"].items()
    )
    districts = tuple(
        DistrictFees(
            str(d["sido"]),
            str(d["sigungu"]),
            str(d["application_url"]),
            str(d["fee_url"]),
            str(d["phone"]),
            str(d["source"]["title"]),
            str(d["source"]["url"]),
            str(d["as_of"]),
            {key: _fees(rows) for key, rows in (d.get("fees") or {}).items()},
        )
        for d in raw["districts"]
    )
    apps = tuple({k: str(v) for k, v in app.items()} for app in raw.get("apps", ()))
    return FeeTable(str(raw["caveat"]).strip(), dict(raw["free_pickup"]), apps, items, districts)
