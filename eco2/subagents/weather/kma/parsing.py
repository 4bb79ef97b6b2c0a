"""Turns a response of the KMA service (through the data.go.kr gateway) into items or a classified error.

The envelopes and result codes are the portal's, shared with every data.go.kr adapter
(``eco2.adapters.datagokr``); this module only reads KMA's rows: one value of one category each,
``obsrValue`` for observations, ``fcstValue`` with its date and time for forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eco2.adapters.datagokr import parse
from eco2.errors import PermanentError


@dataclass(frozen=True, slots=True)
class Item:
    """One value of one category (``obsrValue`` for observations, ``fcstValue`` for forecasts)."""

    category: str
    value: str
    fcst_date: str = ""
    """YYYYMMDD of a forecast value (empty for observations)."""
    fcst_time: str = ""
    """HHMM of a forecast value (empty for observations)."""


def parse_items(upstream: str, body: bytes) -> list[Item]:
    """The items of one response page; ``[]`` for NODATA; classified errors for everything else."""
    page = parse(upstream, body.decode("utf-8", errors="replace"))
    try:
        return [_item(row) for row in page.items]
    except (KeyError, TypeError) as exc:
        raise PermanentError(f"{upstream}: malformed response (item without category or value)") from exc


def _item(row: Mapping[str, Any]) -> Item:
    if "obsrValue" in row:
        return Item(str(row["category"]), str(row["obsrValue"]))
    return Item(str(row["category"]), str(row["fcstValue"]), str(row["fcstDate"]), str(row["fcstTime"]))
