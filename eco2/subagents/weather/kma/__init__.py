"""KMA (Korea Meteorological Administration) short-term forecast service, via the data.go.kr gateway.

The weather slice's upstream: ``grid`` converts coordinates to forecast grid cells, ``base_times`` picks the
latest published issue in KST, ``client`` calls ``getUltraSrtNcst``/``getVilageFcst``, ``parsing`` reads its
rows (envelopes and result codes: ``eco2.adapters.datagokr``, shared with MOIS), and ``values`` and
``digest`` give the category values their meaning.
"""

from __future__ import annotations

from eco2.subagents.weather.kma.base_times import KST, BaseTime, fcst_base, kst_now, ncst_base
from eco2.subagents.weather.kma.client import Fetched, KmaClient
from eco2.subagents.weather.kma.grid import GridPoint, to_grid
from eco2.subagents.weather.kma.parsing import Item

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
