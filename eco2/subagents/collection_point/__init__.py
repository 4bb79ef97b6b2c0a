"""The ``collection_point`` slice: the subagent, KECO's collection-point dataset and the odcloud client.

``subagent`` answers (:class:`CollectionPointFinder`, :func:`typical_places` without a key, :func:`build`),
``keco`` knows the dataset (path, columns, row model) and ``odcloud`` is the gateway that serves it. District
names are shared domain knowledge (``eco2.domain.districts``), the district at the user's position a shared
subagent module (``eco2.subagents.district``). The registry builds it as ``eco2.subagents.collection_point:build``.
"""

from __future__ import annotations

from eco2.subagents.collection_point.subagent import (
    CollectionPointFinder,
    Kind,
    build,
    find_kind,
    haversine_km,
    neighbourhoods,
    typical_places,
)

__all__ = [
    "CollectionPointFinder",
    "Kind",
    "build",
    "find_kind",
    "haversine_km",
    "neighbourhoods",
    "typical_places",
]
