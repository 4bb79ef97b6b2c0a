"""The ``weather`` subagent: KMA's current observation and short-term forecast, in Korean.

It answers the ``weather`` intent and also runs beside ``waste`` and ``bulk_waste`` (the routing map adds it
there), where the weather only matters when it changes how to put things out: rain or snow soaks paper and
stickered furniture, wind scatters light recyclables, heat makes food waste smell. As such an enrichment it
returns an empty summary on a day when none of that applies, so the answer is not padded with weather.

The place is, in order: a city or province named in the message, the user's shared location, or Seoul City
Hall (and the summary says so). Times are KST from an injectable clock.

Without ``DATA_GO_KR_SERVICE_KEY`` a weather question is answered at once with which setting enables the
forecast and where to look meanwhile (:func:`without_key`); beside another intent it stays "not configured",
which adds nothing to that answer.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import RetryableError, UpstreamError
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.unavailable import NotConfigured
from eco2.subagents.weather.kma.base_times import BaseTime, Clock, kst_now, to_kst
from eco2.subagents.weather.kma.client import Fetched, KmaClient
from eco2.subagents.weather.kma.digest import Current, Outlook, current, outlook
from eco2.subagents.weather.kma.grid import GridPoint, to_grid
from eco2.subagents.weather.kma.values import SNOWY_PTY, pty_name
from eco2.subagents.weather.korean import DAY_NAMES, current_line, outlook_line, particles
from eco2.subagents.weather.places import SEOUL_CITY_HALL, find_place

NAME = "weather"
SOURCE = Source("기상청 단기예보 조회서비스 (공공데이터포털)", "https://www.data.go.kr/data/15084084/openapi.do")
WET_POP = 60
"""Rain probability (%) from which KMA's own forecasts mention rain."""
WINDY_MS = 9.0
"""KMA calls wind of 9 m/s and more "강" (strong)."""
HOT_C = 27.0
"""Food waste spoils and smells within a day from about here."""
TIP_HOURS = 12
"""Tips look this far ahead: what is put out tonight is collected by morning."""
MIN_TODAY_HOURS = 6
"""With fewer hours left today, the day line covers the next ``TIP_HOURS`` instead."""
_DAYS = (("모레", 2), ("내일", 1))
ONLY_SNOW = frozenset({3, 7})
"""눈 and 눈날림; the other wet types (비/눈 included) also mean rain."""
OUT_OF_COVERAGE = "기상청 예보는 국내 지역만 제공돼요. 날씨가 궁금한 국내 도시 이름을 알려주세요."
SOURCE_LINE = "출처: 기상청 단기예보 조회서비스(공공데이터포털)"
SETTING = "DATA_GO_KR_SERVICE_KEY"
"""The setting that enables the forecast (KMA short-term forecast API)."""
WEATHER_NURI = Source("기상청 날씨누리", "https://www.weather.go.kr")
WITHOUT_KEY = (
    "실시간 날씨는 아직 알려드릴 수 없어요: 기상청 단기예보가 연결되어 있지 않아요. "
    f"{SETTING}(공공데이터포털 인증키, 기상청 단기예보 조회서비스 활용신청)를 설정하면 현재 날씨와 예보를 "
    f"알려드릴 수 있어요. 그동안은 {WEATHER_NURI.title}({WEATHER_NURI.url})에서 확인해 주세요."
)


def build(ctx: SubagentContext, clock: Clock = kst_now) -> SubagentPort:
    """The KMA-backed subagent, or a ``NotConfigured`` one without the data.go.kr key (no I/O here)."""
    key = ctx.settings.data_go_kr_key
    if key is None:
        return NotConfigured(NAME, f"{SETTING} is not set", known=without_key)
    return KmaWeather(KmaClient(ctx.http("kma", ctx.settings.kma_base_url), key), clock)


def without_key(query: SubagentQuery) -> SubagentResult | None:
    """A weather question without the key: which setting enables it and where to look. The status stays
    ``not_configured`` (metrics and ``done`` must not count a forecast nobody fetched); the answer shows its
    words all the same. Beside another intent: ``None``, as a missing enrichment is not worth a sentence."""
    if query.intents and NAME not in query.intents:
        return None
    data = {"source": "not_configured", "setting": SETTING}
    return SubagentResult(NAME, ResultStatus.NOT_CONFIGURED, summary=WITHOUT_KEY, data=data, sources=(WEATHER_NURI,))


@dataclass(frozen=True, slots=True)
class Signals:
    """The weather facts that change how to put waste out, over the hours that matter."""

    falling: str | None
    """The precipitation type falling right now (Korean), if any."""
    wet: bool
    word: str
    """``비``, ``눈`` or ``비나 눈``."""
    max_pop: int | None
    wind_ms: float | None
    """Set only when the wind is strong."""
    heat_c: float | None
    """Set only when it is hot."""


def signals(now_obs: Current | None, ahead: Outlook | None, live: bool) -> Signals:
    """Read the signals; ``live`` says whether the current observation applies (not for tomorrow)."""
    obs = now_obs if live else None
    falling = pty_name(obs.pty) if obs is not None and obs.precipitating else None
    max_pop = ahead.max_pop if ahead else None
    wet = falling is not None or (ahead is not None and (ahead.wet or (max_pop or 0) >= WET_POP))
    snow = (obs is not None and obs.pty in SNOWY_PTY) or (ahead is not None and ahead.snowy)
    rain = (falling is not None and obs is not None and obs.pty not in ONLY_SNOW) or (
        ahead is not None and any(kind not in ONLY_SNOW for kind in ahead.pty_kinds)
    )
    wind = _max(obs.wind_speed_ms if obs else None, ahead.max_wind_ms if ahead else None)
    heat = _max(obs.temperature_c if obs else None, ahead.temp_max_c if ahead else None)
    return Signals(
        falling=falling,
        wet=wet,
        word="비나 눈" if snow and rain else "눈" if snow else "비",
        max_pop=max_pop,
        wind_ms=wind if wind is not None and wind >= WINDY_MS else None,
        heat_c=heat if heat is not None and heat >= HOT_C else None,
    )


class KmaWeather:
    """Implements ``SubagentPort`` for ``weather`` on a :class:`KmaClient`."""

    def __init__(self, client: KmaClient, clock: Clock = kst_now) -> None:
        self._client = client
        self._clock = clock

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Fetch the observation and the forecast (in parallel) and describe them."""
        now = to_kst(self._clock())
        label, point, located = _locate(query)
        location = {"label": label, "nx": point.nx, "ny": point.ny, "source": located}
        if not point.in_coverage:
            ask = {"field": "location", "prompt": OUT_OF_COVERAGE, "location": location}
            return SubagentResult(NAME, ResultStatus.NEEDS_INPUT, summary=OUT_OF_COVERAGE, data=ask)
        observed, forecast, missing = self._fetch(point, now)
        now_obs = current(observed.base, observed.items) if observed else None
        offset = next((days for word, days in _DAYS if word in query.message), 0)
        title, start, end = _window(now, offset)
        items = forecast.items if forecast else ()
        day = outlook(items, start, end)
        hour = now.replace(minute=0, second=0, microsecond=0)
        ahead = day if offset else outlook(items, hour, hour + timedelta(hours=TIP_HOURS))
        sig = signals(now_obs, ahead, live=offset == 0)
        tips = _tips(query.intents, sig)
        data: dict[str, Any] = {
            "location": location,
            "observation": now_obs.to_dict() if now_obs else None,
            "forecast_base": forecast.base.issued.isoformat() if forecast else None,
            "day_offset": offset,
            "day_title": title,
            "day": day.to_dict() if day else None,
            "tips": tips,
            "missing": missing,
        }
        if now_obs is None and day is None:
            return SubagentResult(NAME, ResultStatus.EMPTY, data=data, sources=(SOURCE,))
        where = _where(label, located, point)
        if NAME in query.intents or not query.intents:
            issues = (observed.base if observed else None, forecast.base if forecast else None)
            summary = _full(where, now_obs, (title, day), tips, missing, issues)
        else:
            summary = _enrichment(where, sig, offset, tips)
        return SubagentResult(NAME, ResultStatus.OK, summary=summary, data=data, sources=(SOURCE,))

    def _fetch(self, point: GridPoint, now: datetime) -> tuple[Fetched | None, Fetched | None, list[str]]:
        """Both products at once: the task's time limit is sized for one request's timeout, not two."""
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kma")
        try:
            futures = {
                "observation": pool.submit(self._client.latest_observations, point, now),
                "forecast": pool.submit(self._client.latest_forecast, point, now),
            }
            results, errors = _settle(futures)
        finally:
            pool.shutdown(wait=False)  # a soft time limit must not wait for a hung request
        if len(errors) == len(futures):
            failures = list(errors.values())
            raise next((e for e in failures if isinstance(e, RetryableError)), failures[0])
        return results.get("observation"), results.get("forecast"), sorted(errors)


def _settle(futures: dict[str, Future[Fetched]]) -> tuple[dict[str, Fetched], dict[str, UpstreamError]]:
    """Each product's items or error: one product failing still leaves an answer."""
    results: dict[str, Fetched] = {}
    errors: dict[str, UpstreamError] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result()
        except UpstreamError as exc:
            errors[name] = exc
    return results, errors


def _locate(query: SubagentQuery) -> tuple[str, GridPoint, str]:
    """(label, grid cell, how it was found): a place named in the message wins over the device's location."""
    place = find_place(query.message)
    if place is not None:
        return place.label, place.grid, "message"
    if query.user_location is not None:
        return "현재 위치", to_grid(query.user_location.latitude, query.user_location.longitude), "user_location"
    return SEOUL_CITY_HALL.label, SEOUL_CITY_HALL.grid, "default"


def _max(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _tips(intents: tuple[str, ...], sig: Signals) -> list[str]:
    """Disposal tips for the other intents of the message, only when the weather calls for them."""
    subject, obj = particles(sig.word)
    tips: list[str] = []
    if "waste" in intents:
        if sig.wet:
            tips.append(
                f"종이류·종이박스는 젖으면 재활용이 어려워요. {subject} 그친 뒤 내놓거나 {obj} 맞지 않는 곳에 두세요."
            )
        if sig.wind_ms is not None:
            tips.append("비닐·스티로폼 같은 가벼운 재활용품은 날리지 않게 묶거나 망에 담아 내놓으세요.")
        if sig.heat_c is not None:
            tips.append("음식물 쓰레기는 물기를 꼭 빼고 밀봉해 자주 버려야 냄새와 벌레를 줄일 수 있어요.")
    if "bulk_waste" in intents:
        if sig.wet:
            tips.append(
                "스티커를 붙여 밖에 내놓는 대형폐기물(소파·매트리스 등)은 젖으면 무거워지고 스티커가 떨어질 수 "
                f"있어요. 덮개를 씌우거나 {subject} 그친 뒤 내놓으세요."
            )
        if sig.wind_ms is not None:
            tips.append("대형폐기물 스티커는 바람에 떨어지지 않게 잘 보이는 곳에 단단히 붙이세요.")
    return tips


def _window(now: datetime, offset: int) -> tuple[str, datetime, datetime]:
    """The hours the day line covers: the rest of today (the next 12 hours late at night) or a whole day."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    midnight = hour.replace(hour=0) + timedelta(days=1)
    if offset:
        start = midnight + timedelta(days=offset - 1)
        return DAY_NAMES[offset], start, start + timedelta(days=1)
    if midnight - hour < timedelta(hours=MIN_TODAY_HOURS):
        return f"앞으로 {TIP_HOURS}시간", hour, hour + timedelta(hours=TIP_HOURS)
    return "오늘 남은 시간", hour, midnight


@dataclass(frozen=True, slots=True)
class _Where:
    label: str
    """``서울특별시청 기준`` or ``현재 위치(기상청 격자 60,127) 기준``."""
    default: bool


def _where(label: str, located: str, point: GridPoint) -> _Where:
    """Which place the figures are for, and whether it is only the default."""
    if located == "user_location":
        return _Where(f"현재 위치(기상청 격자 {point.nx},{point.ny}) 기준", default=False)
    return _Where(f"{label} 기준", default=located == "default")


def _full(
    where: _Where,
    now_obs: Current | None,
    titled_day: tuple[str, Outlook | None],
    tips: list[str],
    missing: list[str],
    issues: tuple[BaseTime | None, BaseTime | None],
) -> str:
    """The answer to a weather question: current conditions, the day asked about, tips, the source."""
    lines = [f"{where.label} 날씨예요."]
    if where.default:
        lines[0] += " 위치 정보가 없어 서울시청 기준으로 알려드려요(다른 지역은 도시 이름을 함께 말씀해 주세요)."
    if now_obs is not None:
        lines.append(f"- {current_line(now_obs)}")
    elif "observation" in missing:
        lines.append("- 현재 관측값은 지금 가져오지 못했어요.")
    title, day = titled_day
    if day is not None:
        lines.append(f"- {outlook_line(day, title)}")
    elif "forecast" in missing:
        lines.append("- 예보는 지금 가져오지 못했어요.")
    else:
        lines.append(f"- {title}: 예보가 아직 없어요.")
    lines.extend(f"- 분리배출 팁: {tip}" for tip in tips)
    observed, forecast = issues
    stamps = [f"{observed.label} 관측" if observed else "", f"{forecast.label} 발표 예보" if forecast else ""]
    lines.append(f"({SOURCE_LINE}, {', '.join(s for s in stamps if s)})")
    return "\n".join(lines)


def _enrichment(where: _Where, sig: Signals, offset: int, tips: list[str]) -> str:
    """Beside a disposal answer: only why the weather matters and what to do, or nothing at all."""
    if not tips:
        return ""
    reasons: list[str] = []
    if sig.falling is not None:
        reasons.append(f"지금 {sig.falling} 내리는 중이에요")
    elif sig.wet:
        when = f"앞으로 {TIP_HOURS}시간 안에" if offset == 0 else DAY_NAMES[offset]
        pop = f"(강수확률 최고 {sig.max_pop}%)" if sig.max_pop is not None else ""
        reasons.append(f"{when} {sig.word} 소식이 있어요{pop}")
    if sig.wind_ms is not None:
        reasons.append(f"바람이 강해요(최대 {sig.wind_ms:g}m/s)")
    if sig.heat_c is not None:
        reasons.append(f"기온이 높아요(최고 {sig.heat_c:g}℃)")
    default = ", 위치 정보가 없어 서울시청 기준" if where.default else ""
    head = f"날씨 참고({where.label}{default}, 기상청 단기예보): {'. '.join(reasons)}."
    return "\n".join([head, *(f"- {tip}" for tip in tips)])
