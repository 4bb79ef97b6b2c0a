"""Condenses KMA items into what an answer needs: the current conditions and an outlook over some hours.

Observations are one value per category; forecasts are one value per category and hour. The outlook keeps
only the hours of a window (e.g. the rest of today) and reduces them to the figures people ask about: the
highest rain probability and when, the hours with precipitation, the heaviest hourly amount, the
temperature range and the strongest wind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eco2.subagents.weather.kma.base_times import KST, BaseTime
from eco2.subagents.weather.kma.parsing import Item
from eco2.subagents.weather.kma.values import (
    SNOWY_PTY,
    Amount,
    amount,
    code,
    number,
    pty_name,
    sky_name,
    wind_direction,
)


@dataclass(frozen=True, slots=True)
class Current:
    """The latest observation (``getUltraSrtNcst``): no sky state, PTY 0-7."""

    observed: BaseTime
    temperature_c: float | None
    humidity_pct: float | None
    wind_speed_ms: float | None
    wind_from: str | None
    pty: int | None
    rain_1h: Amount | None

    @property
    def precipitating(self) -> bool:
        """Rain or snow is falling."""
        return self.pty not in (None, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``SubagentResult.data``."""
        return {
            "observed": self.observed.issued.isoformat(),
            "temperature_c": self.temperature_c,
            "humidity_pct": self.humidity_pct,
            "wind_speed_ms": self.wind_speed_ms,
            "wind_from": self.wind_from,
            "pty": self.pty,
            "precipitation": pty_name(self.pty),
            "rain_1h": self.rain_1h.text if self.rain_1h else None,
        }


@dataclass(frozen=True, slots=True)
class Outlook:
    """The forecast hours within ``[start, end)`` reduced to a few figures."""

    start: datetime
    end: datetime
    hours: int
    max_pop: int | None
    max_pop_at: datetime | None
    wet_hours: tuple[datetime, ...]
    pty_kinds: tuple[int, ...]
    """Distinct non-zero precipitation types, in order of first appearance."""
    max_pcp: Amount | None
    """Heaviest hourly precipitation; ``None`` when none is forecast."""
    max_sno: Amount | None
    """Heaviest hourly snowfall; ``None`` when none is forecast."""
    temp_min_c: float | None
    temp_max_c: float | None
    max_wind_ms: float | None
    sky: int | None
    """The most frequent sky state of the window."""

    @property
    def wet(self) -> bool:
        """Rain or snow is forecast in the window."""
        return bool(self.wet_hours) or (self.max_pcp is not None) or (self.max_sno is not None)

    @property
    def snowy(self) -> bool:
        """Snow (or sleet) is among the forecast types."""
        return self.max_sno is not None or any(kind in SNOWY_PTY for kind in self.pty_kinds)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``SubagentResult.data``."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "hours": self.hours,
            "max_pop": self.max_pop,
            "max_pop_at": self.max_pop_at.isoformat() if self.max_pop_at else None,
            "wet_hours": [h.isoformat() for h in self.wet_hours],
            "precipitation": [pty_name(k) for k in self.pty_kinds],
            "max_pcp": self.max_pcp.text if self.max_pcp else None,
            "max_sno": self.max_sno.text if self.max_sno else None,
            "temp_min_c": self.temp_min_c,
            "temp_max_c": self.temp_max_c,
            "max_wind_ms": self.max_wind_ms,
            "sky": sky_name(self.sky),
        }


def current(base: BaseTime, items: Iterable[Item]) -> Current | None:
    """The observation in ``items``; ``None`` when there is none."""
    values = {item.category: item.value for item in items}
    if not values:
        return None
    return Current(
        observed=base,
        temperature_c=number(values.get("T1H", "")),
        humidity_pct=number(values.get("REH", "")),
        wind_speed_ms=number(values.get("WSD", "")),
        wind_from=wind_direction(number(values.get("VEC", ""))),
        pty=code(values.get("PTY", "")),
        rain_1h=amount(values["RN1"]) if "RN1" in values else None,
    )


def forecast_time(item: Item) -> datetime | None:
    """When a forecast value applies (KST), or ``None`` for a malformed date."""
    try:
        return datetime.strptime(item.fcst_date + item.fcst_time, "%Y%m%d%H%M").replace(tzinfo=KST)
    except ValueError:
        return None


def outlook(items: Iterable[Item], start: datetime, end: datetime) -> Outlook | None:
    """The forecast within ``[start, end)``; ``None`` when no hour of it is covered."""
    hourly: dict[datetime, dict[str, str]] = {}
    for item in items:
        when = forecast_time(item)
        if when is not None and start <= when < end:
            hourly.setdefault(when, {})[item.category] = item.value
    if not hourly:
        return None
    hours = sorted(hourly)
    pops = [(p, h) for h in hours if (p := code(hourly[h].get("POP", ""))) is not None]
    top = max(pops, key=lambda pair: pair[0], default=None)
    wet = [(h, pty) for h in hours if (pty := code(hourly[h].get("PTY", ""))) is not None and pty != 0]
    # TMN (06h) and TMX (15h) are daily extremes; TMP fills in when they fall outside the window
    lows = _numbers(hourly, hours, "TMP") + _numbers(hourly, hours, "TMN")
    highs = _numbers(hourly, hours, "TMP") + _numbers(hourly, hours, "TMX")
    skies = Counter(s for h in hours if (s := code(hourly[h].get("SKY", ""))) is not None)
    return Outlook(
        start=start,
        end=end,
        hours=len(hours),
        max_pop=top[0] if top else None,
        max_pop_at=top[1] if top else None,
        wet_hours=tuple(h for h, _ in wet),
        pty_kinds=tuple(dict.fromkeys(pty for _, pty in wet)),
        max_pcp=_heaviest(hourly[h].get("PCP") for h in hours),
        max_sno=_heaviest((hourly[h].get("SNO") for h in hours), unit="cm"),
        temp_min_c=min(lows, default=None),
        temp_max_c=max(highs, default=None),
        max_wind_ms=max(_numbers(hourly, hours, "WSD"), default=None),
        sky=skies.most_common(1)[0][0] if skies else None,
    )


def _numbers(hourly: dict[datetime, dict[str, str]], hours: list[datetime], category: str) -> list[float]:
    return [v for h in hours if (v := number(hourly[h].get(category, ""))) is not None]


def _heaviest(raw: Iterable[str | None], unit: str = "mm") -> Amount | None:
    amounts = [a for text in raw if text is not None and (a := amount(text, unit)) is not None and not a.is_zero]
    return max(amounts, key=lambda a: a.rank, default=None)
