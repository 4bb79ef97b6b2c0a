"""The KMA client against a local fake of the real service, and the ``weather`` subagent built on it."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from datetime import datetime

import pytest

from eco2.adapters.datagokr import RESULT_CODES, Outcome, PortalPermanentError, PortalRetryableError
from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Secret, Settings
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from eco2.subagents.weather import KmaWeather, build
from eco2.subagents.weather.kma.base_times import KST, ncst_base
from eco2.subagents.weather.kma.client import KmaClient
from eco2.subagents.weather.kma.grid import GridPoint
from eco2.subagents.weather.kma.parsing import parse_items
from eco2.subagents.weather.kma.values import SKY_NAMES, amount, pty_name, wind_direction
from eco2.subagents.weather.korean import hour_ranges
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support.fake_kma import (
    ENCODED_KEY,
    EXPIRED_KEY,
    KEY,
    FakeKma,
    gateway_error,
    http_error,
    malformed,
    service_error,
    slow,
    xml_service_error,
)

SEOUL = GridPoint(60, 127)
NOON = datetime(2024, 6, 1, 12, 45, tzinfo=KST)
NOON_NCST = ncst_base(NOON)
GATEWAY_CODES = ("12", "20", "21", "22", "30", "31", "32", "33")
"""Codes the gateway answers itself, in XML; the others come from the service in the requested format."""


@pytest.fixture
def kma() -> Iterator[FakeKma]:
    with FakeKma() as fake:
        yield fake


def context(
    kma: FakeKma, key: str | None = KEY, breakers: Breakers | None = None, timeout_s: float = 2.0
) -> SubagentContext:
    settings = Settings(
        data_go_kr_key=Secret(key) if key is not None else None,
        kma_base_url=kma.base_url,
        upstream_timeout_s=timeout_s,
    )
    return SubagentContext(settings, breakers or Breakers(fail_max=50), NoOpMetricsAdapter())


def client(kma: FakeKma, key: str = KEY, breakers: Breakers | None = None, timeout_s: float = 2.0) -> KmaClient:
    ctx = context(kma, key=key, breakers=breakers, timeout_s=timeout_s)
    return KmaClient(ctx.http("kma", ctx.settings.kma_base_url), Secret(key))


def weather(kma: FakeKma, now: datetime = NOON, key: str = KEY) -> KmaWeather:
    agent = build(context(kma, key=key), clock=lambda: now)
    assert isinstance(agent, KmaWeather)
    return agent


def ask(message: str, *intents: str, location: GeoPoint | None = None) -> SubagentQuery:
    return SubagentQuery("job-1", message, intents or ("weather",), user_location=location)


def rainy(when: datetime) -> dict[str, str]:
    if 15 <= when.hour <= 17:
        return {"PTY": "1", "POP": "80", "PCP": "30.0~50.0mm", "SKY": "4"}
    return {"POP": "30", "SKY": "4"}


def whole_chain(exc: BaseException) -> str:
    """Everything a log line, a traceback or an error reporter walking the chain could show about ``exc``
    (a suppressed ``__context__`` too: reporters read it even when tracebacks hide it)."""
    text = repr(exc) + str(exc) + "".join(traceback.format_exception(exc))
    linked = exc.__cause__ or exc.__context__
    return text + (whole_chain(linked) if linked is not None else "")


# --- values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("강수없음", 0.0, 0.0),
        ("적설없음", 0.0, 0.0),
        ("-", 0.0, 0.0),
        ("1mm 미만", 0.0, 1.0),
        ("1.0mm 미만", 0.0, 1.0),
        ("2.0mm", 2.0, 2.0),
        ("30.0~50.0mm", 30.0, 50.0),
        ("50.0mm 이상", 50.0, None),
        ("0.5cm 미만", 0.0, 0.5),
        ("5.0cm 이상", 5.0, None),
        ("1.5", 1.5, 1.5),
    ],
)
def test_precipitation_texts_become_bounds(text: str, low: float, high: float | None) -> None:
    parsed = amount(text, "cm" if "cm" in text or "적설" in text else "mm")
    assert parsed is not None
    assert (parsed.low, parsed.high) == (low, high)


def test_undocumented_precipitation_text_is_not_guessed() -> None:
    assert amount("많음") is None


def test_codes_have_korean_names() -> None:
    assert [pty_name(c) for c in range(8)] == [
        "강수 없음",
        "비",
        "비/눈",
        "눈",
        "소나기",
        "빗방울",
        "빗방울눈날림",
        "눈날림",
    ]
    assert SKY_NAMES == {1: "맑음", 3: "구름많음", 4: "흐림"}
    assert (wind_direction(0), wind_direction(225), wind_direction(350)) == ("북", "남서", "북")


# --- client ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, ENCODED_KEY], ids=["decoded", "encoded"])
def test_client_sends_the_documented_parameters_and_either_key_form_works(kma: FakeKma, key: str) -> None:
    fetched = client(kma, key=key).latest_observations(SEOUL, NOON)
    assert {i.category: i.value for i in fetched.items}["T1H"] == "21.3"
    (request,) = kma.requests
    assert request.operation == "getUltraSrtNcst"
    assert request.params == {
        "serviceKey": KEY,
        "pageNo": "1",
        "numOfRows": "20",
        "dataType": "JSON",
        "base_date": "20240601",
        "base_time": "1200",
        "nx": "60",
        "ny": "127",
    }
    assert "%252B" not in request.raw_query  # encoded exactly once


def test_forecast_rows_carry_their_hour(kma: FakeKma) -> None:
    fetched = client(kma).latest_forecast(SEOUL, NOON)
    assert fetched.base.time == "1100"
    first = fetched.items[0]
    assert (first.category, first.fcst_date, first.fcst_time) == ("TMP", "20240601", "1200")
    assert kma.requests[0].params["numOfRows"] == "1000"


def test_an_unpublished_issue_falls_back_to_the_previous_one(kma: FakeKma) -> None:
    kma.unpublish("getUltraSrtNcst", "20240601", "1200")
    kma.unpublish("getVilageFcst", "20240601", "1100")
    c = client(kma)
    assert c.latest_observations(SEOUL, NOON).base.time == "1100"
    assert c.latest_forecast(SEOUL, NOON).base.time == "0800"


def test_nodata_is_an_empty_result_not_an_error(kma: FakeKma) -> None:
    kma.script(service_error("03"), service_error("03"))
    fetched = client(kma).latest_observations(SEOUL, NOON)
    assert fetched.items == ()


@pytest.mark.parametrize("code", sorted(set(RESULT_CODES) - {"00", "03"}))
def test_every_error_code_is_classified(kma: FakeKma, code: str) -> None:
    kma.script(gateway_error(code) if code in GATEWAY_CODES else service_error(code))
    expected = PortalRetryableError if RESULT_CODES[code][1] is Outcome.RETRYABLE else PortalPermanentError
    with pytest.raises(expected) as caught:
        client(kma).observations(SEOUL, NOON_NCST)
    assert isinstance(caught.value, PortalRetryableError | PortalPermanentError)
    assert caught.value.code == code
    assert RESULT_CODES[code][0] in str(caught.value)


def test_documented_outcomes_of_the_key_and_quota_codes() -> None:
    assert RESULT_CODES["22"][1] is Outcome.PERMANENT  # a spent daily quota: retrying only spends more
    assert {RESULT_CODES[c][1] for c in ("10", "30", "31")} == {Outcome.PERMANENT}
    assert RESULT_CODES["03"][1] is Outcome.EMPTY


def test_the_fake_gateway_refuses_unknown_and_expired_keys_in_xml(kma: FakeKma) -> None:
    with pytest.raises(PortalPermanentError, match="SERVICE_KEY_IS_NOT_REGISTERED_ERROR"):
        client(kma, key="wrong+key==").observations(SEOUL, NOON_NCST)
    with pytest.raises(PortalPermanentError, match="DEADLINE_HAS_EXPIRED_ERROR"):
        client(kma, key=EXPIRED_KEY).observations(SEOUL, NOON_NCST)


def test_a_service_error_in_xml_is_classified_too(kma: FakeKma) -> None:
    kma.script(xml_service_error("04"), xml_service_error("03"))
    with pytest.raises(PortalRetryableError):
        client(kma).observations(SEOUL, NOON_NCST)
    assert client(kma).observations(SEOUL, NOON_NCST) == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, RetryableError), (503, RetryableError), (429, RetryableError), (401, PermanentError), (404, PermanentError)],
)
def test_http_errors_are_classified(kma: FakeKma, status: int, error: type[Exception]) -> None:
    kma.script(http_error(status))
    with pytest.raises(error, match=f"HTTP {status}"):
        client(kma).observations(SEOUL, NOON_NCST)


def test_a_slow_service_times_out_as_retryable(kma: FakeKma) -> None:
    kma.script(slow(1.5))
    started = time.perf_counter()
    with pytest.raises(RetryableError, match="timed out"):
        client(kma, timeout_s=0.3).observations(SEOUL, NOON_NCST)
    assert time.perf_counter() - started < 1.2


@pytest.mark.parametrize(
    "body",
    [
        b'{"response": {"header": {"resultCode": "00"',
        b"<html><body>Bad gateway</body></html>",
        b'{"response": {"header": {"resultCode": "00"}}}',
        b'{"data": []}',
    ],
    ids=["truncated", "html", "no-body", "other-json"],
)
def test_malformed_bodies_are_permanent(kma: FakeKma, body: bytes) -> None:
    kma.script(malformed(body))
    with pytest.raises(PermanentError, match="malformed"):
        client(kma).observations(SEOUL, NOON_NCST)


def test_the_breaker_opens_after_repeated_failures_and_closes_after_its_reset_timeout(kma: FakeKma) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    c = client(kma, breakers=breakers)
    kma.script(http_error(503), http_error(503))
    with pytest.raises(RetryableError):
        c.observations(SEOUL, NOON_NCST)
    with pytest.raises(CircuitOpenError):  # the second failure in a row trips it
        c.observations(SEOUL, NOON_NCST)
    with pytest.raises(CircuitOpenError):
        c.observations(SEOUL, NOON_NCST)
    assert len(kma.requests) == 2  # the open breaker sent nothing
    assert breakers.state("kma") == "open"
    time.sleep(0.25)
    assert c.observations(SEOUL, NOON_NCST)
    assert breakers.state("kma") == "closed"


def test_the_key_never_appears_in_errors(kma: FakeKma) -> None:
    failures: list[BaseException] = []
    for reply in (gateway_error("30"), malformed(), http_error(500), slow(1.0)):
        kma.script(reply)
        with pytest.raises(Exception) as caught:  # noqa: PT011 - every kind is collected
            client(kma, timeout_s=0.3).observations(SEOUL, NOON_NCST)
        failures.append(caught.value)
    refused = Settings(data_go_kr_key=Secret(KEY), kma_base_url="http://127.0.0.1:9/x", upstream_timeout_s=0.5)
    ctx = SubagentContext(refused, Breakers(), NoOpMetricsAdapter())
    with pytest.raises(RetryableError) as caught:
        KmaClient(ctx.http("kma", refused.kma_base_url), Secret(KEY)).observations(SEOUL, NOON_NCST)
    failures.append(caught.value)
    for exc in failures:
        text = whole_chain(exc)
        assert KEY not in text
        assert ENCODED_KEY not in text
        assert "Ab3" not in text


# --- subagent -------------------------------------------------------------------------------------------


def test_without_a_key_nothing_is_called_and_only_a_weather_question_hears_about_the_key(kma: FakeKma) -> None:
    # Issue 14: a weather question says which key enables it; beside another intent it stays not configured.
    agent = build(context(kma, key=None))
    with pytest.raises(NotConfiguredError, match="DATA_GO_KR_SERVICE_KEY"):
        agent.run(ask("비 오는데 페트병 어떻게 버려?", "waste"))
    runner = SubagentRunner({"weather": agent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)
    assert runner.run("weather", ask("페트병", "waste")).status is ResultStatus.NOT_CONFIGURED
    result = runner.run("weather", ask("오늘 날씨"))
    assert result.status is ResultStatus.NOT_CONFIGURED  # nothing was fetched: metrics must not say ok
    assert result.data == {"source": "not_configured", "setting": "DATA_GO_KR_SERVICE_KEY"}
    assert "DATA_GO_KR_SERVICE_KEY" in result.summary
    assert kma.requests == []


def test_weather_without_a_location_uses_seoul_city_hall_and_says_so(kma: FakeKma) -> None:
    entries: list[dict[str, str]] = []
    runner = SubagentRunner(
        {"weather": weather(kma)},
        MemoryEvents(lambda job, entry: entries.append(entry)),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    result = runner.run("weather", ask("오늘 날씨 어때?"))
    assert result.status is ResultStatus.OK
    assert [(e["stage"], e["status"]) for e in entries] == [("weather", "started"), ("weather", "completed")]
    assert {(r.params["nx"], r.params["ny"]) for r in kma.requests} == {("60", "127")}
    assert "서울특별시청 기준" in result.summary
    assert "서울시청 기준으로 알려드려요" in result.summary
    for fragment in ("기온 21.3℃", "강수 없음", "습도 55%", "남남서풍 1.3m/s", "강수확률 최고 10%", "기상청"):
        assert fragment in result.summary
    assert result.sources[0].url.startswith("https://www.data.go.kr/")
    assert result.data["location"]["source"] == "default"


def test_the_users_location_picks_the_grid_cell(kma: FakeKma) -> None:
    result = weather(kma).run(ask("날씨 알려줘", location=GeoPoint(35.1798, 129.0750)))
    assert result.status is ResultStatus.OK
    assert {(r.params["nx"], r.params["ny"]) for r in kma.requests} == {("98", "76")}
    assert "현재 위치" in result.summary


def test_a_city_named_in_the_message_wins_over_the_device_location(kma: FakeKma) -> None:
    result = weather(kma).run(ask("제주 날씨 어때?", location=GeoPoint(37.5665, 126.9780)))
    assert {(r.params["nx"], r.params["ny"]) for r in kma.requests} == {("53", "38")}
    assert "제주시청" in result.summary


def test_a_location_abroad_asks_for_a_korean_city_without_calling_kma(kma: FakeKma) -> None:
    entries: list[dict[str, str]] = []
    runner = SubagentRunner(
        {"weather": weather(kma)},
        MemoryEvents(lambda job, entry: entries.append(entry)),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    result = runner.run("weather", ask("날씨", location=GeoPoint(35.6762, 139.6503)))
    assert result.status is ResultStatus.NEEDS_INPUT
    assert any(e["type"] == "needs_input" for e in entries)
    assert kma.requests == []


@pytest.mark.parametrize(
    ("now", "ncst", "fcst"),
    [
        (datetime(2024, 6, 1, 0, 5, tzinfo=KST), ("20240531", "2300"), ("20240531", "2300")),
        (datetime(2024, 6, 1, 2, 9, tzinfo=KST), ("20240601", "0100"), ("20240531", "2300")),
        (datetime(2024, 6, 1, 2, 10, tzinfo=KST), ("20240601", "0100"), ("20240601", "0200")),
    ],
)
def test_requests_use_the_kst_base_times_at_the_boundaries(
    kma: FakeKma, now: datetime, ncst: tuple[str, str], fcst: tuple[str, str]
) -> None:
    weather(kma, now=now).run(ask("날씨"))
    sent = {r.operation: (r.params["base_date"], r.params["base_time"]) for r in kma.requests}
    assert sent == {"getUltraSrtNcst": ncst, "getVilageFcst": fcst}


def test_rain_summary_gives_probability_amount_and_hours(kma: FakeKma) -> None:
    kma.observation.update({"PTY": "1", "RN1": "2.5", "REH": "90"})
    kma.forecast(rainy)
    result = weather(kma).run(ask("비 와?"))
    assert "비, 습도 90%" in result.summary
    assert "1시간 강수량 2.5mm" in result.summary
    assert "강수확률 최고 80%(15시)" in result.summary
    assert "비 15~17시" in result.summary
    assert "시간당 강수량 최대 30.0~50.0mm" in result.summary
    assert "분리배출 팁" not in result.summary  # weather alone: no disposal tips


def test_rain_beside_a_waste_question_adds_only_the_tip(kma: FakeKma) -> None:
    kma.forecast(rainy)
    result = weather(kma).run(ask("종이박스 버리는 법", "waste"))
    assert result.status is ResultStatus.OK
    assert result.summary.startswith("날씨 참고(서울특별시청 기준")
    assert "강수확률 최고 80%" in result.summary
    assert "종이류·종이박스는 젖으면" in result.summary
    assert "비가 그친 뒤" in result.summary


def test_rain_beside_a_bulk_waste_question_warns_about_stickered_items(kma: FakeKma) -> None:
    kma.observation.update({"PTY": "3"})
    result = weather(kma).run(ask("소파 버리기", "bulk_waste"))
    assert "지금 눈 내리는 중이에요" in result.summary
    assert "대형폐기물(소파·매트리스 등)" in result.summary
    assert "눈이 그친 뒤" in result.summary


def test_weather_and_waste_together_give_the_full_summary_with_tips(kma: FakeKma) -> None:
    kma.observation.update({"WSD": "11.2", "T1H": "31.0"})
    result = weather(kma).run(ask("오늘 날씨랑 음식물 쓰레기", "weather", "waste"))
    assert "기온 31℃" in result.summary
    assert "분리배출 팁: 비닐·스티로폼" in result.summary
    assert "분리배출 팁: 음식물 쓰레기는 물기를 꼭 빼고" in result.summary


def test_a_calm_day_adds_nothing_to_a_waste_answer(kma: FakeKma) -> None:
    result = weather(kma).run(ask("페트병 버리는 법", "waste"))
    assert result.status is ResultStatus.OK
    assert result.summary == ""
    assert result.data["observation"]["temperature_c"] == 21.3


def test_tomorrow_is_described_when_asked(kma: FakeKma) -> None:
    kma.forecast(lambda when: {"POP": "70", "PTY": "4"} if when.day == 2 and when.hour == 9 else {})
    result = weather(kma).run(ask("내일 비 와?"))
    assert "내일: 강수확률 최고 70%(9시), 소나기 9시" in result.summary
    assert "기온 12~24℃" in result.summary  # TMN/TMX of the day


def test_snow_amounts_use_kma_text(kma: FakeKma) -> None:
    kma.forecast(lambda when: {"PTY": "3", "SNO": "5.0cm 이상", "POP": "90"} if when.hour == 20 else {})
    result = weather(kma).run(ask("눈 와?"))
    assert "시간당 적설 최대 5.0cm 이상" in result.summary
    assert "눈 20시" in result.summary


def test_one_product_failing_still_answers_with_the_other(kma: FakeKma) -> None:
    kma.script(http_error(500, operation="getVilageFcst"))
    result = weather(kma).run(ask("날씨"))
    assert result.status is ResultStatus.OK
    assert result.data["missing"] == ["forecast"]
    assert "예보는 지금 가져오지 못했어요" in result.summary
    assert "기온 21.3℃" in result.summary


def test_nothing_published_is_empty(kma: FakeKma) -> None:
    kma.script(*[service_error("03")] * 4)
    result = weather(kma).run(ask("날씨"))
    assert result.status is ResultStatus.EMPTY


def test_through_the_runner_retryable_failures_retry_then_fail(kma: FakeKma) -> None:
    kma.script(*[http_error(503)] * 4)
    runner = SubagentRunner({"weather": weather(kma)}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)
    with pytest.raises(RetryableError):
        runner.run("weather", ask("날씨"), attempt=1, final_attempt=False)
    kma.script(*[http_error(503)] * 2)
    result = runner.run("weather", ask("날씨"), attempt=2, final_attempt=True)
    assert result.status is ResultStatus.FAILED
    assert result.error.startswith("retries exhausted")


def test_through_the_runner_a_bad_key_fails_at_once_without_leaking_it(kma: FakeKma) -> None:
    runner = SubagentRunner(
        {"weather": weather(kma, key="not+registered==")},
        MemoryEvents(),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    result = runner.run("weather", ask("날씨"), attempt=1, final_attempt=False)
    assert result.status is ResultStatus.FAILED
    assert "SERVICE_KEY_IS_NOT_REGISTERED_ERROR" in result.error
    assert "not+registered" not in str(result.to_dict())


def test_late_at_night_the_day_line_covers_the_next_twelve_hours(kma: FakeKma) -> None:
    kma.forecast(lambda when: {"PTY": "1", "POP": "70", "PCP": "1mm 미만"} if when.hour in (23, 0, 1) else {})
    result = weather(kma, now=datetime(2024, 6, 1, 23, 50, tzinfo=KST)).run(ask("날씨"))
    assert result.status is ResultStatus.OK
    assert "앞으로 12시간: 강수확률 최고 70%(0시), 비 0~1시" in result.summary
    assert "시간당 강수량 최대 1mm 미만" in result.summary


def test_hour_ranges_follow_the_clock_across_midnight() -> None:
    hours = tuple(datetime(2024, 6, d, h, tzinfo=KST) for d, h in ((1, 22), (1, 23), (2, 0), (2, 5)))
    assert hour_ranges(hours) == "22~0시, 5시"


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (b'{"response":{"header":{"resultCode":"00","resultMsg":"NORMAL_SERVICE"},"body":{"items":""}}}', 0),
        (
            b'{"response":{"header":{"resultCode":"00","resultMsg":"OK"},"body":{"items":{"item":'
            b'{"baseDate":"20240601","baseTime":"1200","category":"T1H","nx":60,"ny":127,"obsrValue":"3"}}}}}',
            1,
        ),
    ],
    ids=["empty-page", "single-object"],
)
def test_envelope_variants_parse(body: bytes, count: int) -> None:
    assert len(parse_items("kma", body)) == count


def test_the_key_never_reaches_a_log_line_even_at_debug(kma: FakeKma, caplog: pytest.LogCaptureFixture) -> None:
    from eco2 import logredact

    logredact.install()  # what the Celery app and the CLI do at start
    with caplog.at_level(logging.DEBUG):
        client(kma).latest_observations(SEOUL, NOON)
        client(kma, key=ENCODED_KEY).latest_observations(SEOUL, NOON)
    assert any(r.name.startswith("urllib3") and "serviceKey=" in r.getMessage() for r in caplog.records)
    assert KEY not in caplog.text
    assert ENCODED_KEY not in caplog.text
