"""``GeocoderPort`` on Kakao Local's address search and ``RegionLookupPort`` on its coord2regioncode, each
with a bounded in-memory LRU cache.

Public datasets (KECO collection points, MOIS facilities) repeat the same few thousand addresses, and a
user sends the same position turn after turn, so each process remembers its answers, including "not
found", which would otherwise be asked again on every chat. Failures are never cached: the next call asks
Kakao again. Both go through the one ``kakao`` upstream: its timeout, its breaker, its error tree.

Dataset addresses often carry details Kakao cannot match (``... 152 강남파이낸스센터 3층``,
``(역삼동)``): when the full text finds nothing, the address cut after its building or lot number is
tried once more.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from typing import Generic, TypeVar

from eco2.adapters.kakao.client import KakaoLocal
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.request import GeoPoint
from eco2.errors import NotConfiguredError
from eco2.ports.geo import GeocoderPort, Region

DEFAULT_CACHE_SIZE = 4096
V = TypeVar("V")

_PARENS = re.compile(r"\([^)]*\)")
_NUMBER = re.compile(r"(?:산)?\d+(?:-\d+)?(?:번지)?")


class _Lru(Generic[V]):
    """A thread-safe LRU map (Celery's thread pool may share one geocoder)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("cache size must be >= 1")
        self._size = size
        self._items: OrderedDict[str, V | None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, V | None]:
        """``(found, value)``: a cached ``None`` means "Kakao knows no such address" (or region)."""
        with self._lock:
            if key not in self._items:
                self.misses += 1
                return False, None
            self.hits += 1
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: str, value: V | None) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def normalize_address(address: str) -> str:
    """The cache key: NFKC, single spaces (``서울  강남구`` and ``서울 강남구`` are one address)."""
    return " ".join(unicodedata.normalize("NFKC", address).split())


def shorten_address(address: str) -> str | None:
    """``address`` without parentheses and whatever follows its building/lot number; ``None`` if unchanged."""
    tokens = _PARENS.sub(" ", address).replace(",", " ").split()
    for i, token in enumerate(tokens):
        if i >= 2 and _NUMBER.fullmatch(token):
            tokens = tokens[: i + 1]
            break
    short = " ".join(tokens)
    return short if short and short != address else None


class KakaoGeocoder:
    """Implements ``GeocoderPort`` with ``GET /v2/local/search/address.json``."""

    def __init__(self, client: KakaoLocal, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._client = client
        self._cache: _Lru[GeoPoint] = _Lru(cache_size)

    def geocode(self, address: str) -> GeoPoint | None:
        """The coordinates of ``address`` (Kakao's best match), or ``None`` when Kakao finds nothing."""
        key = normalize_address(address)
        if not key:
            return None
        found, cached = self._cache.get(key)
        if found:
            return cached
        point = self._lookup(key)
        if point is None and (short := shorten_address(key)) is not None:
            point = self._lookup(short)
        self._cache.put(key, point)
        return point

    def _lookup(self, query: str) -> GeoPoint | None:
        matches = self._client.search_address(query).matches
        return matches[0].point if matches else None

    def cache_info(self) -> dict[str, int]:
        """Hits, misses and size of the cache (for tests and debugging)."""
        return {"hits": self._cache.hits, "misses": self._cache.misses, "size": len(self._cache)}


class KakaoRegionLookup:
    """Implements ``RegionLookupPort`` with ``GET /v2/local/geo/coord2regioncode.json``.

    The 법정동 (``B``) is preferred: its name is the one addresses and district names use; the 행정동 (``H``)
    only stands in when Kakao sends no 법정동. Positions are cached to 5 decimals (about a metre), which is
    also what is sent, so a cached answer is exactly the answer Kakao gave.
    """

    def __init__(self, client: KakaoLocal, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._client = client
        self._cache: _Lru[Region] = _Lru(cache_size)

    def region_at(self, point: GeoPoint) -> Region | None:
        """The region containing ``point``, or ``None`` where Kakao knows none (the sea, abroad)."""
        rounded = GeoPoint(round(point.latitude, 5), round(point.longitude, 5))
        key = f"{rounded.latitude:.5f},{rounded.longitude:.5f}"
        found, cached = self._cache.get(key)
        if found:
            return cached
        documents = self._client.regions_at(rounded)
        by_type = {doc.region_type: doc.region for doc in reversed(documents)}
        region = by_type.get("B") or by_type.get("H") or (documents[0].region if documents else None)
        self._cache.put(key, region)
        return region

    def cache_info(self) -> dict[str, int]:
        """Hits, misses and size of the cache (for tests and debugging)."""
        return {"hits": self._cache.hits, "misses": self._cache.misses, "size": len(self._cache)}


class UnconfiguredGeocoder:
    """Implements ``GeocoderPort`` without a key: refuses at once, with no network call."""

    def geocode(self, address: str) -> GeoPoint | None:
        """Raise ``NotConfiguredError`` (callers may then answer without distances)."""
        raise NotConfiguredError("kakao geocoder: KAKAO_REST_API_KEY is not set")


def kakao_geocoder(settings: Settings, breakers: Breakers, cache_size: int = DEFAULT_CACHE_SIZE) -> GeocoderPort:
    """The process's geocoder for a subagent factory: Kakao with a key, else one that says "not configured"."""
    client = KakaoLocal.from_settings(settings, breakers)
    if client is None:
        return UnconfiguredGeocoder()
    return KakaoGeocoder(client, cache_size)


def kakao_region_lookup(
    settings: Settings, breakers: Breakers, cache_size: int = DEFAULT_CACHE_SIZE
) -> KakaoRegionLookup | None:
    """Kakao's region lookup with a key, else ``None``: callers then go on as if no position was sent."""
    client = KakaoLocal.from_settings(settings, breakers)
    if client is None:
        return None
    return KakaoRegionLookup(client, cache_size)
