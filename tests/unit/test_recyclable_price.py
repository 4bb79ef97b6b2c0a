"""The recyclable_price subagent: the bundled KECO table, users' words for items, regions, the answer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.prices import COLUMNS, REGIONS, PriceBook, bundled_table, default_resolver
from eco2.prices.importer import catalog_index, item_key
from eco2.subagents.context import SubagentContext
from eco2.subagents.recyclable_price.subagent import BUYER_NOTE, RecyclablePrice, build
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY

SURVEY_URL = "https://www.data.go.kr/data/3076421/fileData.do"


def ask(
    message: str, location: GeoPoint | None = None, today: date = date(2025, 2, 20), **hints: str
) -> SubagentResult:
    subagent = RecyclablePrice(PriceBook(None), today=lambda: today)
    return subagent.run(SubagentQuery("job-1", message, ("recyclable_price",), location, hints=dict(hints)))


def ids(result: SubagentResult) -> list[str]:
    return [item["id"] for item in result.data["items"]]


# --- the bundled table ----------------------------------------------------------------------------------------


def test_bundled_table_is_the_2025_01_survey_in_won_per_kg() -> None:
    table = bundled_table()
    assert table.survey.month == "2025-01"
    assert table.survey.unit == "원/kg"
    assert table.survey.url == SURVEY_URL
    assert len(table.prices) == 21
    for item_id, row in table.prices.items():
        assert set(row) == set(COLUMNS), item_id  # every region and 전국평균
    assert table.prices["aluminum_can"]["경남"] == 1200
    assert table.prices["newspaper"]["수도권"] == 130


def test_groups_tips_and_overview_name_priced_items() -> None:
    table = bundled_table()
    for word, members in table.groups.items():
        assert all(table.priced(i) for i in members), word
    assert all(table.priced(i) for i in table.overview)


def test_catalog_names_do_not_collide() -> None:
    table = bundled_table()
    keys: dict[str, str] = {}
    for item in table.items.values():
        for name in (item.name, *item.keco):
            owner = keys.setdefault(item_key(name), item.id)
            assert owner == item.id, f"{name!r} of {item.id} is also a name of {owner}"
    assert catalog_index(table)[item_key("압축-PET(잡색)")] == "pet"
    assert catalog_index(table)[item_key("청·녹색")] == "glass_green"


# --- users' words ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("폐지 1kg에 얼마예요?", ["newspaper", "cardboard"]),
        ("택배 박스 팔면 얼마 받아요", ["cardboard"]),
        ("신문 모아놨는데 시세", ["newspaper"]),
        ("캔 시세 알려줘", ["steel_can", "aluminum_can"]),
        ("맥주캔은 얼마야", ["aluminum_can"]),
        ("고철 가격", ["metal_scrap"]),
        ("페트병 얼마에 팔려요", ["pet"]),
        ("PET병 가격", ["pet"]),
        ("PE 얼마야", ["pe_compressed"]),
        ("pp 압축 가격", ["pp_compressed"]),
        ("유리병 시세", ["glass_white", "glass_brown", "glass_green"]),
        ("스티로폼 시세", ["eps"]),
        ("폐타이어 가격", ["rubber_powder"]),
    ],
)
def test_users_words_find_the_items(message: str, expected: list[str]) -> None:
    result = ask(message)
    assert result.data["matched"] is True
    assert ids(result) == expected


def test_vision_item_is_priced() -> None:
    assert ids(ask("이거 팔면 얼마야?", item="알루미늄캔")) == ["aluminum_can"]


def test_question_without_an_item_gets_the_main_items_and_a_prompt() -> None:
    result = ask("냉장고 팔면 얼마 받아요?")
    assert result.status is ResultStatus.OK
    assert result.data["matched"] is False
    assert ids(result) == list(bundled_table().overview)
    assert "조사 품목을 찾지 못해" in result.summary
    assert "궁금한 품목" in result.summary


def test_deposit_bottles_get_the_deposit_tip() -> None:
    result = ask("소주병 팔면 얼마야")
    assert ids(result) == ["glass_green"]
    assert "빈용기보증금" in result.summary


# --- regions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("서울 강남구", "수도권"),
        ("부산 해운대", "경남"),
        ("울산", "경남"),
        ("대전 유성구", "충남"),
        ("세종시", "충남"),
        ("광주광역시", "전남"),
        ("경기도 광주시", "수도권"),
        ("대구", "경북"),
        ("춘천", "강원"),
        ("청주", "충북"),
        ("전주", "전북"),
        ("고양시 일산", "수도권"),
    ],
)
def test_places_map_to_keco_regions(text: str, region: str) -> None:
    match = default_resolver().from_text(text)
    assert match is not None
    assert match.region == region


@pytest.mark.parametrize("text", ["고양이 사료 캔", "공주 옷", "음성 메시지"])
def test_everyday_words_are_not_places(text: str) -> None:
    assert default_resolver().from_text(text) is None


@pytest.mark.parametrize(
    ("point", "region"),
    [
        (GeoPoint(37.4979, 127.0276), "수도권"),  # 강남역
        (GeoPoint(35.1631, 129.1635), "경남"),  # 해운대
        (GeoPoint(36.3504, 127.3845), "충남"),  # 대전시청
        (GeoPoint(35.8242, 127.1480), "전북"),  # 전주
        (GeoPoint(35.8714, 128.6014), "경북"),  # 대구
        (GeoPoint(37.8813, 127.7298), "강원"),  # 춘천
    ],
)
def test_positions_map_to_keco_regions(point: GeoPoint, region: str) -> None:
    match = default_resolver().from_point(point)
    assert match is not None
    assert (match.region, match.source) == (region, "location")


def test_jeju_is_outside_the_survey_and_abroad_is_nowhere() -> None:
    jeju = default_resolver().from_point(GeoPoint(33.4996, 126.5312))
    assert jeju is not None
    assert (jeju.region, jeju.area) == (None, "제주")
    assert default_resolver().from_point(GeoPoint(35.6762, 139.6503)) is None  # 도쿄


def test_resolver_covers_exactly_the_survey_regions() -> None:
    assert set(REGIONS) == {"수도권", "강원", "충북", "충남", "전북", "전남", "경북", "경남"}


# --- the answer -----------------------------------------------------------------------------------------------


def test_answer_gives_regional_and_nationwide_price_with_month_and_buyer_note() -> None:
    result = ask("부산 사는데 알루미늄캔 얼마에 팔 수 있어?")
    assert result.status is ResultStatus.OK
    assert "2025년 1월 조사" in result.summary
    assert "부산 → 경남 권역" in result.summary
    assert "- 알루미늄캔: 경남 1,200원 (전국평균 1,200원)" in result.summary
    assert BUYER_NOTE in result.summary
    assert result.data["month"] == "2025-01"
    assert result.data["region"] == "경남"
    assert result.data["items"][0]["region_price"] == 1200
    assert [(s.title, s.url) for s in result.sources] == [
        ("한국환경공단 재활용가능자원 가격조사 (2025년 1월)", SURVEY_URL)
    ]


def test_region_from_gps_when_the_message_names_none() -> None:
    result = ask("신문지 시세", location=GeoPoint(37.4979, 127.0276))
    assert "현재 위치 → 수도권 권역" in result.summary
    assert "- 신문지: 수도권 130원 (전국평균 120원)" in result.summary
    assert result.data["region_from"] == "location"


def test_without_a_region_nationwide_with_the_regional_range_and_a_prompt() -> None:
    result = ask("골판지 시세")
    assert "- 골판지: 전국평균 80원 (권역별 65원~90원)" in result.summary
    assert "사는 지역" in result.summary
    assert result.data["region"] is None


def test_jeju_answers_nationwide_and_says_why() -> None:
    result = ask("제주도 고철 얼마")
    assert "제주 지역은 조사 권역에 없어" in result.summary
    assert "- 철스크랩(고철): 전국평균 280원" in result.summary
    assert "사는 지역" not in result.summary


def test_old_survey_is_flagged_recent_one_is_not() -> None:
    assert "차이가 있을 수 있어요" not in ask("캔", today=date(2025, 2, 20)).summary
    assert "2025년 1월 조사 값이라 지금 시세와 차이가 있을 수 있어요" in ask("캔", today=date(2025, 6, 1)).summary


def test_factory_does_no_io_and_needs_no_key(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    ctx = SubagentContext(Settings.from_env({"ECO2_STATE_DIR": str(missing)}), Breakers(), NoOpMetricsAdapter())
    subagent = build(ctx)
    assert not missing.exists()
    assert subagent.run(SubagentQuery("job-1", "캔", ("recyclable_price",))).status is ResultStatus.OK


def test_runner_sees_an_ok_result() -> None:
    seen: list[dict[str, str]] = []
    runner = SubagentRunner(
        {"recyclable_price": RecyclablePrice(PriceBook(None))},
        MemoryEvents(lambda _j, e: seen.append(e)),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    result = runner.run("recyclable_price", SubagentQuery("job-1", "서울 페트병 시세", ("recyclable_price",)))
    assert result.status is ResultStatus.OK
    assert "수도권 400원" in result.summary
    assert [e["status"] for e in seen if e["type"] == "stage"] == ["started", "completed"]
