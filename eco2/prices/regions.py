"""Maps what a user says (a city, a 구, a province) or where they are (GPS) to a KECO survey region.

KECO publishes prices for eight regions (권역), not per city, so an answer needs the region of the user's
place: 부산 is in 경남, 대전 in 충남. Place names come from ``eco2/data/prices/regions.yaml``; a position
takes the region of the nearest listed town, which is coarse at region borders but the regions' prices
differ by tens of won, not by the side of a border one stands on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from eco2.domain.request import GeoPoint
from eco2.prices._text import PhraseMatcher
from eco2.prices.table import REGIONS, PriceFileError

_KM_PER_DEGREE = 111.2


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """The region a user's place maps to."""

    region: str | None
    """A KECO region (``수도권`` ...), or ``None`` for a place the survey does not cover."""
    place: str
    """What it was found from: the user's word, or ``현재 위치``."""
    source: str
    """``hint``, ``message`` or ``location``."""
    area: str = ""
    """The uncovered area's name (``제주``) when ``region`` is ``None``."""


@dataclass(frozen=True, slots=True)
class _Area:
    name: str
    surveyed: bool


class RegionResolver:
    """Finds the KECO region of place names and positions."""

    def __init__(
        self,
        words: dict[str, _Area],
        anchors: list[tuple[float, float, _Area]],
        max_anchor_km: float,
    ) -> None:
        self._matcher = PhraseMatcher(words)
        self._anchors = anchors
        self._max_km = max_anchor_km

    def from_text(self, text: str, source: str = "message") -> RegionMatch | None:
        """The region of the first place named in ``text`` (``None`` when it names none)."""
        found = self._matcher.find(text)
        if not found:
            return None
        first = found[0]
        return _match(first.target, first.text, source)

    def from_point(self, point: GeoPoint) -> RegionMatch | None:
        """The region of the nearest listed town, if one is within ``max_anchor_km``."""
        best: tuple[float, _Area] | None = None
        cos_lat = math.cos(math.radians(point.latitude))
        for lat, lon, area in self._anchors:
            dy = (point.latitude - lat) * _KM_PER_DEGREE
            dx = (point.longitude - lon) * _KM_PER_DEGREE * cos_lat
            km = math.hypot(dx, dy)
            if best is None or km < best[0]:
                best = (km, area)
        if best is None or best[0] > self._max_km:
            return None
        return _match(best[1], "현재 위치", "location")


def _match(area: _Area, place: str, source: str) -> RegionMatch:
    if area.surveyed:
        return RegionMatch(area.name, place, source)
    return RegionMatch(None, place, source, area=area.name)


@lru_cache(maxsize=1)
def default_resolver() -> RegionResolver:
    """The resolver over the bundled ``regions.yaml`` (parsed once per process)."""
    text = (resources.files("eco2") / "data" / "prices" / "regions.yaml").read_text("utf-8")
    return parse_regions(text, "regions.yaml")


def parse_regions(text: str, where: str) -> RegionResolver:
    """Build a resolver from the YAML text of ``regions.yaml``."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("regions"), dict):
        raise PriceFileError(f"{where}: expected a mapping with 'regions'")
    if set(doc["regions"]) != set(REGIONS):
        raise PriceFileError(f"{where}: regions must be exactly {', '.join(REGIONS)}")
    words: dict[str, _Area] = {}
    anchors: list[tuple[float, float, _Area]] = []
    sections = [(name, body, True) for name, body in doc["regions"].items()]
    sections += [(name, body, False) for name, body in (doc.get("unsurveyed") or {}).items()]
    for name, body, surveyed in sections:
        area = _Area(str(name), surveyed)
        for word in body.get("words", []):
            if str(word) in words:
                raise PriceFileError(f"{where}: place {word!r} is listed twice")
            words[str(word)] = area
        for lat, lon in body.get("anchors", []):
            anchors.append((float(lat), float(lon), area))
    return RegionResolver(words, anchors, float(doc.get("max_anchor_km", 60)))
