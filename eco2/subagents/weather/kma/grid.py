"""Latitude/longitude to the KMA forecast grid (5 km Lambert conformal conic).

The short-term forecast service is indexed by grid cell (``nx``, ``ny``), not by coordinates. This is the
conversion from KMA's own guide (the ``lamcproj`` routine): two standard parallels at 30°N and 60°N, origin
126°E 38°N placed at cell (43, 136), on a sphere of radius 6371.00877 km with 5 km cells. The projection
constants are computed once at import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.00877
GRID_KM = 5.0
SLAT1_DEG = 30.0
SLAT2_DEG = 60.0
OLON_DEG = 126.0
OLAT_DEG = 38.0
XO = 43
YO = 136
NX_MAX = 149
"""The grid's last column: KMA serves 1..149 x 1..253 (the Korean peninsula and nearby seas)."""
NY_MAX = 253


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One forecast grid cell."""

    nx: int
    ny: int

    @property
    def in_coverage(self) -> bool:
        """Whether KMA serves this cell (a location abroad falls outside and gets no data)."""
        return 1 <= self.nx <= NX_MAX and 1 <= self.ny <= NY_MAX


def _constants() -> tuple[float, float, float, float]:
    rad = math.radians
    re = EARTH_RADIUS_KM / GRID_KM
    slat1, slat2, olat = rad(SLAT1_DEG), rad(SLAT2_DEG), rad(OLAT_DEG)
    sn = math.log(math.cos(slat1) / math.cos(slat2)) / math.log(
        math.tan(math.pi / 4 + slat2 / 2) / math.tan(math.pi / 4 + slat1 / 2)
    )
    sf = math.tan(math.pi / 4 + slat1 / 2) ** sn * math.cos(slat1) / sn
    ro = re * sf / math.tan(math.pi / 4 + olat / 2) ** sn
    return re, sn, sf, ro


_RE, _SN, _SF, _RO = _constants()


def to_grid(latitude: float, longitude: float) -> GridPoint:
    """The grid cell containing a WGS84 point (KMA rounds half up, hence ``floor(x + 0.5)``)."""
    ra = _RE * _SF / math.tan(math.pi / 4 + math.radians(latitude) / 2) ** _SN
    theta = math.radians(longitude) - math.radians(OLON_DEG)
    if theta > math.pi:
        theta -= 2 * math.pi
    if theta < -math.pi:
        theta += 2 * math.pi
    theta *= _SN
    nx = math.floor(ra * math.sin(theta) + XO + 0.5)
    ny = math.floor(_RO - ra * math.cos(theta) + YO + 0.5)
    return GridPoint(nx, ny)
