"""``bulk_waste`` and ``collection_point`` take the district from the user's position when the message names none.

Every upstream is its local fake: Kakao's coord2regioncode, MOIS and odcloud, through the real clients,
breakers and the runner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.districts import UNLOCATED_NOTE
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.subagents import bulk_waste, collection_point, district
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY
from tests.support import fake_mois, fake_odcloud
from tests.support.fake_kakao import CITY_HALL, ERRORS, KEY, OPEN_SEA, YEOKSAM, FakeKakao, Reply
from tests.support.fake_mois import FakeMois
from tests.support.fake_odcloud import FakeOdcloud

HERE = GeoPoint(*YEOKSAM)
BUSAN_JUNGGU = GeoPoint(35.1036, 129.0363)
ASSUMED = "보내주신 위치(서울특별시 강남구 역삼동) 기준으로 찾았어요."


@dataclass
class Servers:
    kakao: FakeKakao
    mois: FakeMois
    odcloud: FakeOdcloud

    def searched(self, name: str) -> list[str]:
        """The district each request of the subagent's own upstream filtered by."""
        if name == "bulk_waste":
            return [r["params"]["cond[SGG_NM::LIKE]"] for r in self.mois.requests]
        return [r["params"]["cond[수거장소(주소)::LIKE]"] for r in self.odcloud.requests]

    def region_calls(self) -> int:
        return sum(1 for r in self.kakao.requests if r["path"] == "/v2/local/geo/coord2regioncode.json")


@dataclass(frozen=True)
class Case:
    module: ModuleType
    message: str
    """A question naming no district."""
    header: str
    """How the answer for 서울 강남구 starts."""


CASES = {
    "bulk_waste": Case(bulk_waste, "소파 버리고 싶어", "[서울특별시 강남구 대형폐기물 배출 안내]"),
    "collection_point": Case(collection_point, "폐휴대폰 수거하는 곳 알려줘", "[서울특별시 강남구 폐휴대폰 수거 장소]"),
}
both = pytest.mark.parametrize("name", list(CASES))


@pytest.fixture
def servers() -> Iterator[Servers]:
    with FakeKakao() as kakao, FakeMois() as mois, FakeOdcloud() as odcloud:
        yield Servers(kakao, mois, odcloud)


def context(servers: Servers, kakao_key: str | None = KEY, breakers: Breakers | None = None) -> SubagentContext:
    settings = Settings(
        kakao_api_key=Secret(kakao_key) if kakao_key else None,
        kakao_base_url=servers.kakao.base_url,
        data_go_kr_key=Secret(fake_mois.VALID_KEY),
        mois_base_url=servers.mois.base_url,
        keco_api_key=Secret(fake_odcloud.VALID_KEY),
        odcloud_base_url=servers.odcloud.base_url,
        upstream_timeout_s=2.0,
    )
    return SubagentContext(settings, breakers or Breakers(fail_max=2, reset_timeout_s=5), NoOpMetricsAdapter())


def run(ctx: SubagentContext, name: str, message: str, where: GeoPoint | None = HERE) -> SubagentResult:
    """Build the subagent and run it once through the runner, as a worker does."""
    query = SubagentQuery("job-1", message, (name,), user_location=where)
    subagent = CASES[name].module.build(ctx)
    return SubagentRunner({name: subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        name, query
    )


@both
def test_coordinates_name_the_district_and_the_answer_says_which(servers: Servers, name: str) -> None:
    result = run(context(servers), name, CASES[name].message)

    assert result.status is ResultStatus.OK, result
    assert result.summary.startswith(ASSUMED)
    assert CASES[name].header in result.summary
    assert servers.searched(name) == ["강남구"]
    assert servers.region_calls() == 1
    assert result.data["district"] == "서울특별시 강남구"
    assert result.data["district_from"] == "user_location"
    assert result.data["region"] == "서울특별시 강남구 역삼동"


@pytest.mark.parametrize(
    ("name", "message", "searched", "label"),
    [
        ("bulk_waste", "수원 영통구 장롱 버리는 법", "수원시", "경기도 수원시 영통구"),
        ("collection_point", "서울 중구 폐휴대폰 수거함", "중구", "서울특별시 중구"),
    ],
)
def test_a_district_in_the_message_wins_over_the_coordinates(
    servers: Servers, name: str, message: str, searched: str, label: str
) -> None:
    result = run(context(servers), name, message)

    assert result.status is ResultStatus.OK
    assert servers.searched(name) == [searched]
    assert result.data["district"] == label
    assert result.data["district_from"] == "message"
    assert "보내주신 위치" not in result.summary
    assert servers.region_calls() == 0  # a named district needs no lookup


@pytest.mark.parametrize(
    ("name", "message", "where", "label"),
    [
        ("bulk_waste", "중구 소파 버리려고", GeoPoint(*CITY_HALL), "서울특별시 중구"),
        ("bulk_waste", "부산 소파 버리려고", BUSAN_JUNGGU, "부산광역시 중구"),
        ("collection_point", "중구 폐휴대폰 수거함", GeoPoint(*CITY_HALL), "서울특별시 중구"),
    ],
)
def test_coordinates_settle_an_ambiguous_name_or_a_lone_sido(
    servers: Servers, name: str, message: str, where: GeoPoint, label: str
) -> None:
    result = run(context(servers), name, message, where)

    assert result.status is ResultStatus.OK, result
    assert result.data["district"] == label
    assert result.data["district_from"] == "user_location"
    assert f"보내주신 위치({label} " in result.summary


@both
def test_coordinates_never_override_a_name_they_do_not_fit(servers: Servers, name: str) -> None:
    message = "중구 소파 버리려고" if name == "bulk_waste" else "중구 폐휴대폰 수거함"
    result = run(context(servers), name, message)  # 중구 is named, the user stands in 강남구

    assert result.status is ResultStatus.NEEDS_INPUT
    assert "여러 곳" in result.summary
    assert servers.region_calls() == 1
    assert servers.searched(name) == []


@both
def test_coordinates_are_used_only_with_a_kakao_key(servers: Servers, name: str) -> None:
    with_key = run(context(servers), name, CASES[name].message)
    without = run(context(servers, kakao_key=None), name, CASES[name].message)

    assert with_key.status is ResultStatus.OK
    assert without.status is ResultStatus.NEEDS_INPUT  # as before: the district is asked for
    assert without.summary.split("\n")[0].endswith(UNLOCATED_NOTE)
    assert servers.region_calls() == 1  # only the run with the key asked Kakao


@both
@pytest.mark.parametrize("failure", ["server_error", "bad_key", "throttled"])
def test_kakao_failing_falls_back_to_asking(servers: Servers, name: str, failure: str) -> None:
    servers.kakao.script(ERRORS[failure])
    result = run(context(servers), name, CASES[name].message)

    assert result.status is ResultStatus.NEEDS_INPUT
    assert result.summary.split("\n")[0].endswith(UNLOCATED_NOTE)
    assert result.data["missing"] == "district"
    assert servers.region_calls() == 1
    assert servers.searched(name) == []


@both
def test_an_open_kakao_breaker_falls_back_to_asking_without_a_call(servers: Servers, name: str) -> None:
    breakers = Breakers(fail_max=2, reset_timeout_s=30)
    ctx = context(servers, breakers=breakers)
    servers.kakao.script(ERRORS["server_error"], ERRORS["server_error"])

    results = [run(ctx, name, CASES[name].message) for _ in range(3)]

    assert [r.status for r in results] == [ResultStatus.NEEDS_INPUT] * 3
    assert breakers.state("kakao") == "open"
    assert servers.region_calls() == 2  # the third run was refused by the breaker, not by Kakao


@both
def test_a_slow_kakao_is_cut_off_by_the_budget(servers: Servers, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(district, "REGION_BUDGET_S", 0.2)
    servers.kakao.script(Reply(delay_s=1.0))
    started = time.monotonic()

    result = run(context(servers), name, CASES[name].message)

    assert time.monotonic() - started < 0.9
    assert result.status is ResultStatus.NEEDS_INPUT
    assert servers.region_calls() == 1


@both
def test_a_position_in_no_region_asks(servers: Servers, name: str) -> None:
    result = run(context(servers), name, CASES[name].message, GeoPoint(*OPEN_SEA))

    assert result.status is ResultStatus.NEEDS_INPUT
    assert result.summary.split("\n")[0].endswith(UNLOCATED_NOTE)
    assert servers.region_calls() == 1
