"""Korean phrases for KMA figures: one line for the current conditions, one for a day's outlook.

Kept apart from the subagent so the wording of weather facts (units, KMA's own precipitation texts, hour
ranges) is tested on its own; the subagent decides which lines an answer needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from eco2.subagents.weather.kma.digest import Current, Outlook
from eco2.subagents.weather.kma.values import pty_name, sky_name

DAY_NAMES = {0: "오늘", 1: "내일", 2: "모레"}
BREEZY_MS = 4.0
"""KMA's "약간 강" (somewhat strong) wind starts here; weaker wind is not worth a mention in an outlook."""


def particles(word: str) -> tuple[str, str]:
    """``word`` with its subject and object particles: 비가/비를, 눈이/눈을, 비나 눈이/비나 눈을."""
    return (f"{word}가", f"{word}를") if word == "비" else (f"{word}이", f"{word}을")


def hour_ranges(hours: tuple[datetime, ...]) -> str:
    """Consecutive hours as ranges: 15, 16, 17, 21 -> ``15~17시, 21시`` (22, 23, 0 -> ``22~0시``)."""
    spans: list[list[datetime]] = []
    for hour in sorted(hours):
        if spans and hour - spans[-1][-1] == timedelta(hours=1):
            spans[-1].append(hour)
        else:
            spans.append([hour])
    return ", ".join(f"{s[0].hour}~{s[-1].hour}시" if len(s) > 1 else f"{s[0].hour}시" for s in spans)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def current_line(obs: Current) -> str:
    """E.g. ``현재(14시 관측): 기온 23.4℃, 비, 습도 80%, 남서풍 3.2m/s, 1시간 강수량 2.0mm``."""
    parts: list[str] = []
    if obs.temperature_c is not None:
        parts.append(f"기온 {_num(obs.temperature_c)}℃")
    if (name := pty_name(obs.pty)) is not None:
        parts.append(name)
    if obs.humidity_pct is not None:
        parts.append(f"습도 {_num(obs.humidity_pct)}%")
    if obs.wind_speed_ms is not None:
        parts.append(f"{obs.wind_from + '풍 ' if obs.wind_from else '풍속 '}{_num(obs.wind_speed_ms)}m/s")
    if obs.rain_1h is not None and not obs.rain_1h.is_zero:
        parts.append(f"1시간 강수량 {obs.rain_1h.text}")
    return f"현재({obs.observed.issued.hour}시 관측): " + (", ".join(parts) or "관측값 없음")


def outlook_line(day: Outlook, title: str) -> str:
    """E.g. ``오늘 남은 시간: 강수확률 최고 80%(15시), 비 15~17시, 시간당 강수량 최대 3.0mm, 기온 18~26℃``."""
    parts: list[str] = []
    if day.max_pop is not None:
        at = f"({day.max_pop_at.hour}시)" if day.max_pop_at is not None and day.max_pop > 0 else ""
        parts.append(f"강수확률 최고 {day.max_pop}%{at}")
    if day.wet_hours:
        kinds = "/".join(n for k in day.pty_kinds if (n := pty_name(k)) is not None)
        parts.append(f"{kinds} {hour_ranges(day.wet_hours)}")
    else:
        parts.append("비·눈 예보 없음")
    if day.max_pcp is not None:
        parts.append(f"시간당 강수량 최대 {day.max_pcp.text}")
    if day.max_sno is not None:
        parts.append(f"시간당 적설 최대 {day.max_sno.text}")
    if day.temp_min_c is not None and day.temp_max_c is not None:
        low, high = _num(day.temp_min_c), _num(day.temp_max_c)
        parts.append(f"기온 {low}℃" if low == high else f"기온 {low}~{high}℃")  # not "20~20℃"
    if day.max_wind_ms is not None and day.max_wind_ms >= BREEZY_MS:
        parts.append(f"최대 풍속 {_num(day.max_wind_ms)}m/s")
    if (sky := sky_name(day.sky)) is not None:
        parts.append(f"하늘 대체로 {sky}")
    return f"{title}: " + ", ".join(parts)
