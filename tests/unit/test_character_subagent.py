"""The ``character`` subagent against the real character server on loopback, and through the runner."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import RetryableError
from eco2.ports.subagents import SubagentPort
from eco2.subagents.character import build
from eco2.subagents.character.catalogue import parse_catalogue
from eco2.subagents.character.embedded import embedded_address
from eco2.subagents.character.server import start_server
from eco2.subagents.context import SubagentContext
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY

CATALOGUE_FILE = Path(__file__).parents[2] / "eco2/data/characters/catalogue.yaml"


def context(addr: str, breakers: Breakers | None = None) -> SubagentContext:
    return SubagentContext(Settings(character_grpc_addr=addr), breakers or Breakers(), NoOpMetricsAdapter())


def ask(message: str, **hints: str) -> SubagentQuery:
    return SubagentQuery("job-1", message, ("character",), hints=dict(hints))


@pytest.fixture(scope="module")
def agent() -> Iterator[SubagentPort]:
    running = start_server("127.0.0.1:0")
    yield build(context(f"127.0.0.1:{running.port}"))
    running.stop(0)


def run(agent: SubagentPort, message: str, **hints: str) -> SubagentResult:
    result = agent.run(ask(message, **hints))
    assert result.status is ResultStatus.OK, result
    return result


def labels(result: SubagentResult) -> list[str]:
    return [c["match_label"] for c in result.data["characters"]]


def test_a_character_named_in_the_message_is_introduced_from_the_service(agent: SubagentPort) -> None:
    result = run(agent, "페티 누구야?")
    assert result.data["matched_by"] == "name"
    assert labels(result) == ["clear_pet"]
    assert "[페티] 무색 페트병 담당" in result.summary
    assert '페티: "안녕, 난 페티!' in result.summary
    assert "만나는 방법:" in result.summary
    assert "이코에코 캐릭터 서비스" in result.summary
    assert [s.url for s in result.sources] == ["eco2://character/eco-char-petty"]


@pytest.mark.parametrize(
    ("message", "label"),
    [("who is Glassy", "glass"), ("메탈리ㅋㅋ누구야", "metal"), ("이코 소개해줘", "default")],
)
def test_names_and_aliases_are_found_in_korean_and_english(agent: SubagentPort, message: str, label: str) -> None:
    assert labels(run(agent, message)) == [label]


def test_several_named_characters_are_all_introduced(agent: SubagentPort) -> None:
    result = run(agent, "글래시랑 페이피 중에 누가 더 인기 많아")
    assert labels(result) == ["glass", "paper"]
    assert "[글래시]" in result.summary
    assert "[페이피]" in result.summary


@pytest.mark.parametrize(
    ("message", "label", "matched_by"),
    [
        ("페트병 캐릭터", "clear_pet", "keyword"),
        ("비닐 버리면 나오는 캐릭터는?", "vinyl", "keyword"),
        ("which character is for glass bottles", "glass", "keyword"),
        ("마스크 버리면 어떤 캐릭터야?", "general", "item"),
        ("캔은 어떤 캐릭터랑 연결돼?", "metal", "item"),
        ("이 물건은 어떤 캐릭터야? 플라스틱 숟가락", "general", "item"),
    ],
)
def test_a_waste_item_or_category_word_finds_its_category_character(
    agent: SubagentPort, message: str, label: str, matched_by: str
) -> None:
    result = run(agent, message)
    assert (labels(result), result.data["matched_by"]) == ([label], matched_by)


def test_the_item_vision_found_picks_the_character(agent: SubagentPort) -> None:
    assert labels(run(agent, "이거 무슨 캐릭터야?", item="우유팩")) == ["paper_pack"]


@pytest.mark.parametrize("message", ["캐릭터 레벨업 하는 방법", "고양이 캐릭터 있어?", "사진 스캔하면 캐릭터 줘?"])
def test_without_a_name_or_item_the_representative_character_answers(agent: SubagentPort, message: str) -> None:
    result = run(agent, message)
    assert (labels(result), result.data["matched_by"]) == (["default"], "default")
    assert "[이코] 대표 캐릭터" in result.summary
    assert "품목이나 이름으로 물어보세요" in result.summary


def test_a_list_question_lists_every_character(agent: SubagentPort) -> None:
    result = run(agent, "캐릭터 전부 몇 명이야")
    assert len(result.data["characters"]) == 21
    assert "모두 21명" in result.summary
    assert "- 페티: 무색 페트병" in result.summary


def test_a_reward_question_asks_for_the_reward_with_the_users_count(agent: SubagentPort) -> None:
    result = run(agent, "페트병 10개 버리면 포인트 몇 점이야?")
    reward = result.data["reward"]
    assert (reward["character_code"], reward["count"], reward["points"]) == ("eco-char-petty", 10, 100)
    assert reward["badge_unlocked"] is True
    assert "10번이면 100포인트" in result.summary
    assert "'투명한 약속' 배지는 네 거야" in result.summary


def test_a_reward_question_without_a_count_states_the_rule_only(agent: SubagentPort) -> None:
    result = run(agent, "메탈리 배지 어디서 받아?")
    reward = result.data["reward"]
    assert (reward["action"], reward["count"]) == ("correct_disposal", 1)
    assert "message" not in reward  # "10포인트 적립!" would claim points the user never earned
    assert "올바른 분리배출 1번에 10포인트예요. '강철 의리' 배지는 올바른 분리배출 10번이면 받아요." in result.summary
    assert "적립" not in result.summary


def test_a_category_the_service_lacks_falls_back_to_the_default_and_says_so() -> None:
    text = CATALOGUE_FILE.read_text("utf-8")
    without_petty = (
        text.split("  - code: eco-char-petty")[0] + "  - code: eco-char-plea" + text.split("  - code: eco-char-plea")[1]
    )
    running = start_server("127.0.0.1:0", parse_catalogue(without_petty))
    try:
        result = build(context(f"127.0.0.1:{running.port}")).run(ask("페트병 캐릭터 누구야"))
    finally:
        running.stop(0)
    assert labels(result) == ["default"]
    assert result.summary.startswith("물어본 품목의 캐릭터는 아직 없어서 대표 캐릭터를 소개할게요.")


# --- through the runner ---------------------------------------------------------------------------------


def test_the_runner_reports_ok_with_stage_events(agent: SubagentPort) -> None:
    entries: list[dict[str, str]] = []
    runner = SubagentRunner(
        {"character": agent},
        MemoryEvents(lambda job, entry: entries.append(entry)),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    result = runner.run("character", ask("폼이 성격 알려줘"))
    assert result.status is ResultStatus.OK
    assert [(e["stage"], e["status"]) for e in entries] == [("character", "started"), ("character", "completed")]


def test_an_unreachable_service_is_failed_not_a_crash() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    subagent = build(context(f"127.0.0.1:{port}"))
    assert time.monotonic() - started < 0.5  # build connects to nothing
    runner = SubagentRunner({"character": subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY)
    with pytest.raises(RetryableError):  # not the last attempt: the task retries later
        runner.run("character", ask("페티 누구야"), final_attempt=False)
    last = runner.run("character", ask("페티 누구야"), attempt=2, final_attempt=True)
    assert last.status is ResultStatus.FAILED
    assert "UNAVAILABLE" in last.error
    assert last.summary == "캐릭터 서비스에 연결할 수 없어요. 잠시 후 다시 물어봐 주세요."
    assert time.monotonic() - started < 3  # two runs, each well within the registry's 3 s limit


def test_an_open_breaker_fails_at_once_saying_the_service_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = SubagentRunner(
        {"character": build(context(f"127.0.0.1:{port}", Breakers(fail_max=1)))},
        MemoryEvents(),
        metrics=NOOP_METRICS,
        telemetry=NOOP_TELEMETRY,
    )
    with caplog.at_level(logging.WARNING, logger="eco2.adapters.resilience.breakers"):
        results = [runner.run("character", ask("이코 캐릭터는 누구야?")) for _ in range(3)]
    assert {r.status for r in results} == {ResultStatus.FAILED}
    assert all("circuit open" in r.error for r in results)
    assert {r.summary for r in results} == {"캐릭터 서비스에 연결할 수 없어요. 잠시 후 다시 물어봐 주세요."}
    opened = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert opened == [
        f"circuit breaker character: closed -> open (character service at 127.0.0.1:{port}); "
        "its calls fail at once for 30 s"
    ]


def test_without_an_address_it_serves_the_catalogue_itself_over_grpc() -> None:
    subagent = build(context(""))
    result = SubagentRunner(
        {"character": subagent}, MemoryEvents(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY
    ).run("character", ask("이코 캐릭터는 누구야?"))
    assert result.status is ResultStatus.OK, result
    assert labels(result) == ["default"]
    assert "[이코] 대표 캐릭터" in result.summary
    assert embedded_address().startswith("127.0.0.1:")  # the server this process now runs, on loopback
