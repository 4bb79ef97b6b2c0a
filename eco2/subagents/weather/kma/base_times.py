"""Which issue (``base_date``/``base_time``) of each KMA product is the latest one already published.

KMA publishes on Korean time whatever the server's clock says, so every rule works on ``now`` converted to
KST. Asking for an issue that is not out yet returns NODATA, hence the publication delays:

- observations (``getUltraSrtNcst``) are taken on the hour and published at minute 40, so before HH:40
  the latest one is the previous hour's (00:15 -> yesterday 23:00);
- short-term forecasts (``getVilageFcst``) are issued at 02, 05, 08, 11, 14, 17, 20 and 23 h and published
  about 10 minutes later, so before 02:10 the latest one is yesterday's 23:00.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")
"""Korea has kept UTC+9 without daylight saving since 1988, so a fixed offset needs no tz database."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime; injected so tests can stand on any boundary."""

NCST_READY_MINUTE = 40
FCST_READY_MINUTE = 10
FCST_HOURS = (2, 5, 8, 11, 14, 17, 20, 23)


def kst_now() -> datetime:
    """The production clock."""
    return datetime.now(KST)


def to_kst(moment: datetime) -> datetime:
    """``moment`` in KST; a naive datetime is refused because its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("KMA base times need an aware datetime (naive times have no known zone)")
    return moment.astimezone(KST)


@dataclass(frozen=True, slots=True)
class BaseTime:
    """One issue of a product, as the API's ``base_date`` (YYYYMMDD) and ``base_time`` (HHMM)."""

    issued: datetime
    """The issue time in KST, on the hour."""

    @property
    def date(self) -> str:
        """``base_date``."""
        return self.issued.strftime("%Y%m%d")

    @property
    def time(self) -> str:
        """``base_time``."""
        return self.issued.strftime("%H%M")

    @property
    def label(self) -> str:
        """Korean label for summaries, e.g. ``11월 3일 14시``."""
        return f"{self.issued.month}월 {self.issued.day}일 {self.issued.hour}시"


def ncst_base(now: datetime) -> BaseTime:
    """The latest published observation at ``now``."""
    kst = to_kst(now)
    hour_start = kst.replace(minute=0, second=0, microsecond=0)
    if kst.minute < NCST_READY_MINUTE:
        hour_start -= timedelta(hours=1)
    return BaseTime(hour_start)


def fcst_base(now: datetime) -> BaseTime:
    """The latest published short-term forecast at ``now``."""
    kst = to_kst(now)
    hour_start = kst.replace(minute=0, second=0, microsecond=0)
    for hour in reversed(FCST_HOURS):
        if (kst.hour, kst.minute) >= (hour, FCST_READY_MINUTE):
            return BaseTime(hour_start.replace(hour=hour))
    yesterday = hour_start - timedelta(days=1)
    return BaseTime(yesterday.replace(hour=FCST_HOURS[-1]))


def previous_ncst(base: BaseTime) -> BaseTime:
    """The observation one hour before ``base`` (when ``base`` is late to appear)."""
    return BaseTime(base.issued - timedelta(hours=1))


def previous_fcst(base: BaseTime) -> BaseTime:
    """The forecast issue before ``base`` (issues are three hours apart)."""
    return BaseTime(base.issued - timedelta(hours=3))
