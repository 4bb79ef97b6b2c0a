"""KMA (Korea Meteorological Administration) short-term forecast service, via the data.go.kr gateway.

``grid`` converts coordinates to forecast grid cells, ``base_times`` picks the latest published issue in KST,
``client`` calls ``getUltraSrtNcst``/``getVilageFcst``, ``parsing`` reads its rows (envelopes and result
codes: ``eco2.adapters.datagokr``),
``values`` and ``digest`` give the category values their meaning, ``korean`` words them, and ``places``
knows the cities a user may name.
"""

from __future__ import annotations

from eco2.adapters.kma.base_times import KST, BaseTime, fcst_base, kst_now, ncst_base
from eco2.adapters.kma.client import Fetched, KmaClient
from eco2.adapters.kma.grid import GridPoint, to_grid
from eco2.adapters.kma.parsing import Item

__all__ = [
    "KST",
    "BaseTime",
    "Fetched",
    "GridPoint",
    "Item",
    "KmaClient",
    "fcst_base",
    "kst_now",
    "ncst_base",
    "to_grid",
]
