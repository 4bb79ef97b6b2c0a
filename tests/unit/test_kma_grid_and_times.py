"""KMA grid conversion, named places and the base-time rules (pure functions, KST at the boundaries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eco2.subagents.weather.kma.base_times import KST, fcst_base, ncst_base, previous_fcst, previous_ncst
from eco2.subagents.weather.kma.grid import GridPoint, to_grid
from eco2.subagents.weather.places import PLACES, SEOUL_CITY_HALL, find_place


def kst(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KST)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (37.5665, 126.9780, GridPoint(60, 127)),  # Seoul City Hall
        (35.1798, 129.0750, GridPoint(98, 76)),  # Busan City Hall
        (33.4996, 126.5312, GridPoint(53, 38)),  # Jeju City Hall
    ],
)
def test_grid_conversion_matches_kma_reference_cells(latitude: float, longitude: float, expected: GridPoint) -> None:
    assert to_grid(latitude, longitude) == expected


def test_every_named_place_is_inside_the_kma_grid() -> None:
    assert all(place.grid.in_coverage for place in PLACES)
    assert SEOUL_CITY_HALL.grid == GridPoint(60, 127)


@pytest.mark.parametrize(("latitude", "longitude"), [(35.6762, 139.6503), (40.7128, -74.0060), (-33.8688, 151.2093)])
def test_points_abroad_fall_outside_the_grid(latitude: float, longitude: float) -> None:
    assert not to_grid(latitude, longitude).in_coverage


@pytest.mark.parametrize(
    ("message", "label"),
    [
        ("부산 날씨 어때?", "부산광역시청"),
        ("광주광역시 비 와?", "광주광역시청"),
        ("경기도는 내일 추워?", "수원시청(경기도)"),
        ("제주도 바람 세?", "제주시청(제주특별자치도)"),
        ("충남 날씨", "충청남도청(홍성)"),
        ("서울이랑 부산 중에 어디가 더 더워?", "서울특별시청"),
        ("대구에서 소파 버리는 법", "대구광역시청"),
    ],
)
def test_places_named_in_a_message_are_found(message: str, label: str) -> None:
    place = find_place(message)
    assert place is not None
    assert place.label == label


@pytest.mark.parametrize(
    "message", ["대구탕 뼈는 어디에 버려?", "고양이 사료 캔 버리는 법", "세종대왕 동상", "오늘 날씨"]
)
def test_words_that_only_contain_a_place_name_are_not_places(message: str) -> None:
    assert find_place(message) is None


def test_all_seventeen_metropolitan_cities_and_provinces_are_known_by_name() -> None:
    names = [
        "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기도", "강원도",
        "충청북도", "충청남도", "전북특별자치도", "전라남도", "경상북도", "경상남도", "제주특별자치도",
    ]  # fmt: skip
    assert all(find_place(f"{name} 날씨") is not None for name in names)
    assert len({find_place(f"{name} 날씨") for name in names}) == 17


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (kst(2024, 6, 1, 14, 39), kst(2024, 6, 1, 13)),  # HH:39: this hour's observation is not out yet
        (kst(2024, 6, 1, 14, 40), kst(2024, 6, 1, 14)),
        (kst(2024, 6, 1, 0, 0), kst(2024, 5, 31, 23)),  # midnight: yesterday's 23:00
        (kst(2024, 6, 1, 0, 39), kst(2024, 5, 31, 23)),
        (kst(2024, 6, 1, 0, 40), kst(2024, 6, 1, 0)),
        (kst(2024, 1, 1, 0, 10), kst(2023, 12, 31, 23)),  # across the year
        (kst(2024, 3, 1, 0, 5), kst(2024, 2, 29, 23)),  # across a leap day
    ],
)
def test_observation_base_time_is_the_latest_published_hour(now: datetime, expected: datetime) -> None:
    assert ncst_base(now).issued == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (kst(2024, 6, 1, 0, 0), kst(2024, 5, 31, 23)),  # midnight
        (kst(2024, 6, 1, 2, 9), kst(2024, 5, 31, 23)),  # before 02:10: yesterday's 23:00
        (kst(2024, 6, 1, 2, 10), kst(2024, 6, 1, 2)),
        (kst(2024, 6, 1, 5, 9), kst(2024, 6, 1, 2)),
        (kst(2024, 6, 1, 5, 10), kst(2024, 6, 1, 5)),
        (kst(2024, 6, 1, 14, 30), kst(2024, 6, 1, 14)),
        (kst(2024, 6, 1, 23, 9), kst(2024, 6, 1, 20)),
        (kst(2024, 6, 1, 23, 10), kst(2024, 6, 1, 23)),
        (kst(2024, 6, 1, 23, 59), kst(2024, 6, 1, 23)),
        (kst(2024, 1, 1, 1, 0), kst(2023, 12, 31, 23)),
        (kst(2024, 3, 1, 2, 0), kst(2024, 2, 29, 23)),
    ],
)
def test_forecast_base_time_is_the_latest_published_issue(now: datetime, expected: datetime) -> None:
    assert fcst_base(now).issued == expected


def test_base_times_are_computed_in_kst_whatever_zone_the_clock_reports() -> None:
    utc = datetime(2024, 5, 31, 17, 5, tzinfo=UTC)  # 2024-06-01 02:05 KST
    assert (fcst_base(utc).date, fcst_base(utc).time) == ("20240531", "2300")
    assert (ncst_base(utc).date, ncst_base(utc).time) == ("20240601", "0100")
    pacific = utc.astimezone(timezone(timedelta(hours=-7)))
    assert fcst_base(pacific) == fcst_base(utc)


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        ncst_base(datetime(2024, 6, 1, 12, 0))  # naive on purpose


def test_previous_issues_step_back_one_hour_and_three_hours() -> None:
    assert previous_ncst(ncst_base(kst(2024, 6, 1, 0, 45))).issued == kst(2024, 5, 31, 23)
    assert previous_fcst(fcst_base(kst(2024, 6, 1, 2, 30))).issued == kst(2024, 5, 31, 23)
    assert (fcst_base(kst(2024, 6, 1, 2, 30)).date, fcst_base(kst(2024, 6, 1, 2, 30)).time) == ("20240601", "0200")
