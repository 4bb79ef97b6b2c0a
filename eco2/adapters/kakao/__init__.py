"""Kakao Local (``dapi.kakao.com``): place search for the ``location`` subagent, geocoding both ways.

``client`` speaks the REST API, ``responses`` parses its bodies and errors, and ``geocoder`` implements
``GeocoderPort`` and ``RegionLookupPort`` with caches. Shared by ``location``, ``collection_point`` and
``bulk_waste``; turning a Korean chat message into a search is the ``location`` slice's own business
(``eco2.subagents.location.query``).
"""

from __future__ import annotations

from eco2.adapters.kakao.client import KakaoLocal, kakao_upstream
from eco2.adapters.kakao.geocoder import (
    KakaoGeocoder,
    KakaoRegionLookup,
    UnconfiguredGeocoder,
    kakao_geocoder,
    kakao_region_lookup,
)
from eco2.adapters.kakao.responses import UPSTREAM, AddressSearch, Place, PlaceSearch, SameName

__all__ = [
    "UPSTREAM",
    "AddressSearch",
    "KakaoGeocoder",
    "KakaoLocal",
    "KakaoRegionLookup",
    "Place",
    "PlaceSearch",
    "SameName",
    "UnconfiguredGeocoder",
    "kakao_geocoder",
    "kakao_region_lookup",
    "kakao_upstream",
]
