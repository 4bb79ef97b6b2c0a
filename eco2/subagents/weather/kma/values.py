"""Meanings of the KMA short-term forecast's category values (codes, units and text ranges).

Most values are numbers sent as strings, but some are codes (``PTY``, ``SKY``) and the forecast's
precipitation and snowfall (``PCP``, ``SNO``) are Korean text such as ``강수없음``, ``1mm 미만``,
``30.0~50.0mm`` or ``50.0mm 이상``. Everything here turns those strings into typed values without
guessing: an unknown text stays ``None`` (or keeps its text) rather than becoming a wrong number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PTY_NAMES: dict[int, str] = {
    0: "강수 없음",
    1: "비",
    2: "비/눈",
    3: "눈",
    4: "소나기",
    5: "빗방울",
    6: "빗방울눈날림",
    7: "눈날림",
}
"""Precipitation type. 4 appears in forecasts only; 5-7 in observations and ultra-short forecasts only."""

SNOWY_PTY = frozenset({2, 3, 6, 7})

SKY_NAMES: dict[int, str] = {1: "맑음", 3: "구름많음", 4: "흐림"}
"""Sky state (forecasts only; observations have no SKY). 2 ("구름조금") was retired in 2019."""

MISSING_ABS = 900.0
"""KMA marks a missing number with a huge magnitude (e.g. ``-999`` or ``-998.9``)."""

_DIRECTIONS = (
    "북", "북북동", "북동", "동북동", "동", "동남동", "남동", "남남동",
    "남", "남남서", "남서", "서남서", "서", "서북서", "북서", "북북서",
)  # fmt: skip

_NONE_TEXTS = frozenset({"강수없음", "적설없음", "-", "0", "0.0", ""})
_LESS = re.compile(r"^(\d+(?:\.\d+)?)\s*(mm|cm)\s*미만$")
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*~\s*(\d+(?:\.\d+)?)\s*(mm|cm)$")
_MORE = re.compile(r"^(\d+(?:\.\d+)?)\s*(mm|cm)\s*이상$")
_EXACT = re.compile(r"^(\d+(?:\.\d+)?)\s*(mm|cm)?$")


def number(raw: str) -> float | None:
    """A numeric value, or ``None`` when it is missing or not a number."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return None if abs(value) >= MISSING_ABS else value


def code(raw: str) -> int | None:
    """An integer code (``PTY``/``SKY``), or ``None``."""
    value = number(raw)
    return int(value) if value is not None and value == int(value) else None


def pty_name(value: int | None) -> str | None:
    """Korean name of a precipitation type code."""
    return PTY_NAMES.get(value) if value is not None else None


def sky_name(value: int | None) -> str | None:
    """Korean name of a sky state code."""
    return SKY_NAMES.get(value) if value is not None else None


def wind_direction(degrees: float | None) -> str | None:
    """16-point Korean compass name of the direction the wind blows from (``VEC``)."""
    if degrees is None or not 0 <= degrees <= 360:
        return None
    return _DIRECTIONS[int((degrees + 11.25) // 22.5) % 16]


@dataclass(frozen=True, slots=True)
class Amount:
    """An hourly precipitation (mm) or snowfall (cm) as KMA states it: a value, a bound or a range."""

    low: float
    """Lower bound (0 for "less than")."""
    high: float | None
    """Upper bound; ``None`` when open ("50.0mm 이상")."""
    text: str
    """KMA's own wording, shown to users as is."""

    @property
    def is_zero(self) -> bool:
        """No precipitation at all."""
        return self.high == 0

    @property
    def rank(self) -> float:
        """Orders amounts by severity: the upper bound, open ranges last."""
        return float("inf") if self.high is None else self.high


def _exact(match: re.Match[str], text: str, unit: str) -> Amount:
    value = float(match.group(1))
    return Amount(value, value, text if match.group(2) else f"{text}{unit}")


_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str, str], Amount]], ...] = (
    (_LESS, lambda m, text, _: Amount(0.0, float(m.group(1)), text)),
    (_RANGE, lambda m, text, _: Amount(float(m.group(1)), float(m.group(2)), text)),
    (_MORE, lambda m, text, _: Amount(float(m.group(1)), None, text)),
    (_EXACT, _exact),
)


def amount(raw: str, unit: str = "mm") -> Amount | None:
    """Parse a ``PCP``/``SNO``/``RN1`` value; ``None`` for text KMA does not document."""
    text = (raw or "").strip()
    nothing = Amount(0.0, 0.0, "강수없음" if unit == "mm" else "적설없음")
    if text in _NONE_TEXTS:
        return nothing
    for pattern, make in _FORMS:
        if match := pattern.match(text):
            found = make(match, text, unit)
            return nothing if found.is_zero else found
    return None
