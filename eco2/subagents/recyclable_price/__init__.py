"""The ``recyclable_price`` slice: KECO's surveyed price per kg, by region (``subagent.py``).

The price table, its import and the region resolver are the shared library ``eco2.prices``
(``eco2 prices import`` uses it too); this package answers a question from it.
"""

from __future__ import annotations

from eco2.subagents.recyclable_price.subagent import RecyclablePrice, build

__all__ = ["RecyclablePrice", "build"]
