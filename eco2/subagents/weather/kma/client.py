"""Client of KMA's short-term forecast service (``VilageFcstInfoService_2.0``) on data.go.kr.

Two operations are used, both ``GET`` with ``serviceKey, pageNo, numOfRows, dataType=JSON, base_date,
base_time, nx, ny``: ``getUltraSrtNcst`` (the latest hourly observation) and ``getVilageFcst`` (the
short-term forecast, hourly values for about three days). Transport failures are classified by
:class:`HttpUpstream` (through the ``kma`` breaker); result codes by :mod:`eco2.subagents.weather.kma.parsing`.

The portal shows every key twice, URL-encoded (``...%2B...%3D%3D``) and decoded (``...+...==``), and users
paste either. The key is unquoted once (a decoded key has no ``%`` and is unchanged) and requests encodes it
exactly once, so both forms reach the gateway identically. The key is only ever a query parameter at call
time: errors are re-raised without their cause chain, whose ``requests`` exceptions quote the full URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from eco2.adapters.http.upstream import HttpUpstream
from eco2.config import Secret
from eco2.subagents.weather.kma.base_times import BaseTime, fcst_base, ncst_base, previous_fcst, previous_ncst
from eco2.subagents.weather.kma.grid import GridPoint
from eco2.subagents.weather.kma.parsing import Item, parse_items

NCST_OPERATION = "getUltraSrtNcst"
FCST_OPERATION = "getVilageFcst"
NCST_ROWS = 20
"""An observation has 8 categories (T1H, RN1, UUU, VVV, REH, PTY, VEC, WSD)."""
FCST_ROWS = 1000
"""12 categories an hour (plus daily TMN/TMX): 1000 rows reach the end of the day after tomorrow."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """Items of one issue, with the issue they belong to."""

    base: BaseTime
    items: tuple[Item, ...]


class KmaClient:
    """Fetches observations and forecasts for one grid cell."""

    def __init__(self, upstream: HttpUpstream, service_key: Secret) -> None:
        self._upstream = upstream
        self._key = service_key

    @property
    def name(self) -> str:
        """The upstream's name (breaker and metric label)."""
        return self._upstream.name

    def observations(self, point: GridPoint, base: BaseTime) -> list[Item]:
        """The observation issued at ``base`` (``[]`` when KMA has none)."""
        return self._call(NCST_OPERATION, point, base, NCST_ROWS)

    def forecast(self, point: GridPoint, base: BaseTime) -> list[Item]:
        """The forecast issued at ``base`` (``[]`` when KMA has none)."""
        return self._call(FCST_OPERATION, point, base, FCST_ROWS)

    def latest_observations(self, point: GridPoint, now: datetime) -> Fetched:
        """The newest observation at ``now``; one hour earlier if that one is late (NODATA)."""
        base = ncst_base(now)
        items = self.observations(point, base)
        if not items:
            base = previous_ncst(base)
            items = self.observations(point, base)
        return Fetched(base, tuple(items))

    def latest_forecast(self, point: GridPoint, now: datetime) -> Fetched:
        """The newest forecast at ``now``; the issue before if that one is late (NODATA)."""
        base = fcst_base(now)
        items = self.forecast(point, base)
        if not items:
            base = previous_fcst(base)
            items = self.forecast(point, base)
        return Fetched(base, tuple(items))

    def _call(self, operation: str, point: GridPoint, base: BaseTime, rows: int) -> list[Item]:
        params = {
            "serviceKey": unquote(self._key.reveal()),
            "pageNo": 1,
            "numOfRows": rows,
            "dataType": "JSON",
            "base_date": base.date,
            "base_time": base.time,
            "nx": point.nx,
            "ny": point.ny,
        }
        # The key is in the query string; HttpUpstream raises its errors with no link to requests' exception
        # (which quotes the URL), so nothing here has to scrub them.
        response = self._upstream.get(operation, params)
        return parse_items(self.name, response.content)
