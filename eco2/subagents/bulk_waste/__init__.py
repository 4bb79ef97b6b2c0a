"""The ``bulk_waste`` slice: the subagent, its MOIS client and its bundled fee table.

``subagent`` answers (:class:`BulkWaste`, :class:`TypicalBulkWaste` without the key, :func:`build`), ``mois``
is the upstream (행정안전부 생활쓰레기배출정보) and ``fees`` reads ``eco2/data/bulk_waste/fees.yaml``. District
names are shared domain knowledge (``eco2.domain.districts``), the district at the user's position a shared
subagent module (``eco2.subagents.district``). The registry builds it as ``eco2.subagents.bulk_waste:build``.
"""

from __future__ import annotations

from eco2.subagents.bulk_waste.fees import FeeTable, Item, load_fee_table
from eco2.subagents.bulk_waste.subagent import BulkWaste, TypicalBulkWaste, build

__all__ = ["BulkWaste", "FeeTable", "Item", "TypicalBulkWaste", "build", "load_fee_table"]
