"""The ``location`` slice: nearby recycling centres, zero-waste shops, refill stations... on Kakao Local.

| module | role |
| --- | --- |
| ``subagent.py`` | ``build(ctx)``, the search strategy (by name, else around the user) and the summary |
| ``query.py`` | a Korean chat message -> what to search: the kind of place, a region, a keyword |

The Kakao Local client, its responses and the geocoder stay in ``eco2.adapters.kakao``: ``collection_point``
and ``bulk_waste`` use them too. The follow-up resolver reads ``place_kind`` from ``query.py``.
"""

from __future__ import annotations

from eco2.subagents.location.query import PlaceKind, PlaceQuery, parse_message, place_kind
from eco2.subagents.location.subagent import KakaoLocation, build

__all__ = ["KakaoLocation", "PlaceKind", "PlaceQuery", "build", "parse_message", "place_kind"]
