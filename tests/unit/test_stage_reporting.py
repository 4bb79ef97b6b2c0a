"""A subagent's stage reaches the stream exactly once: live when it outlasts the coalescing window, with the
continuation's first write when it is over sooner (eco2/subagents/progress.py). Real Redis streams."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from eco2.adapters.redis_streams import RedisStreamsEvents
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.domain.events import StageStatus
from eco2.domain.request import parse_request
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.errors import StreamError
from eco2.subagents.progress import report_withdrawn
from eco2.subagents.runner import SubagentRunner
from tests.fakes import NOOP_METRICS, NOOP_TELEMETRY, KeywordClassifier, ListWriter, ScriptedSubagent, all_subagents

pytestmark = pytest.mark.redis

WINDOW_MS = 50


@pytest.fixture
def streams(redis_url: str) -> RedisStreamsEvents:
    return RedisStreamsEvents(redis.Redis.from_url(redis_url), prefix="t", ttl_s=60, flush_ms=WINDOW_MS)


def entries(streams: RedisStreamsEvents, job_id: str, timeout_s: float = 3) -> list[dict[str, str]]:
    return [fields for _id, fields in streams.follow(job_id, block_ms=100, timeout_s=timeout_s)]


def stages(events: list[dict[str, str]], name: str) -> list[tuple[int, str]]:
    return [(int(e["seq"]), e["status"]) for e in events if e["type"] == "stage" and e["stage"] == name]


def query(job_id: str) -> SubagentQuery:
    return SubagentQuery.for_request(parse_request((), {"job_id": job_id, "message": "페트병"}), ["waste"], None)


def test_a_run_inside_the_window_is_withdrawn_and_one_outlasting_it_reports_itself(
    streams: RedisStreamsEvents,
) -> None:
    fast = ScriptedSubagent("waste_rag")
    slow = ScriptedSubagent("weather", delay_s=3 * WINDOW_MS / 1000)
    runner = SubagentRunner(
        {"waste_rag": fast, "weather": slow}, streams, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY
    )
    quick = runner.run("waste_rag", query("fast"))
    assert quick.reported is False
    assert entries(streams, "fast", timeout_s=0.3) == []  # nothing went out, not even after the window
    late = runner.run("weather", query("slow"))
    assert late.reported is True
    assert [s for _, s in stages(entries(streams, "slow", timeout_s=0.3), "weather")] == ["started", "completed"]


def test_without_a_window_every_run_reports_itself(redis_url: str) -> None:
    unbuffered = RedisStreamsEvents(redis.Redis.from_url(redis_url), prefix="t0", ttl_s=60, flush_ms=0)
    result = SubagentRunner(
        {"waste_rag": ScriptedSubagent("waste_rag")}, unbuffered, metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY
    ).run("waste_rag", query("j0"))
    assert result.reported is True
    assert [s for _, s in stages(entries(unbuffered, "j0", timeout_s=0.3), "waste_rag")] == ["started", "completed"]


def test_the_continuation_writes_a_withdrawn_stage_with_its_needs_input(streams: RedisStreamsEvents) -> None:
    asks = dataclasses.replace(
        SubagentResult("location", ResultStatus.NEEDS_INPUT, data={"field": "location", "prompt": "어디?"}),
        reported=False,
    )
    reported = SubagentResult("weather", ResultStatus.OK)
    writer = streams.open("cont")
    report_withdrawn(writer, [asks.to_dict(), reported.to_dict()])
    writer.done({"intent": "location"})
    events = entries(streams, "cont")
    assert [e["type"] for e in events] == ["stage", "needs_input", "stage", "done"]
    assert [s for _, s in stages(events, "location")] == ["started", "completed"]
    assert stages(events, "weather") == []  # it reported itself


def test_in_a_chat_each_stage_appears_once_the_slow_one_live_the_fast_one_with_the_answer(
    streams: RedisStreamsEvents,
) -> None:
    subagents = all_subagents()
    subagents["weather"] = ScriptedSubagent("weather", delay_s=4 * WINDOW_MS / 1000)
    container, _ = bootstrap_inline(
        Settings.from_env({"ECO2_TOKEN_FLUSH_MS": str(WINDOW_MS)}),
        events=streams,
        subagents=subagents,
        classifier=KeywordClassifier(),
        writer=ListWriter(),
    )
    try:
        assert container.service.accept((), {"job_id": "chat", "message": "페트병 어떻게 버려?"}) == "started"
    finally:
        container.close()
    events = entries(streams, "chat")
    assert events[-1]["type"] == "done"
    rag, weather = stages(events, "waste_rag"), stages(events, "weather")
    assert [s for _, s in rag] == [s for _, s in weather] == ["started", "completed"]
    first_token = min(int(e["seq"]) for e in events if e["type"] == "token")
    assert max(seq for seq, _ in rag + weather) < first_token
    # weather outlasted the window and reported live; waste_rag was over at once and came with the answer
    assert weather[1][0] < rag[0][0]
    ts = {int(e["seq"]): int(e["ts"]) for e in events}
    assert ts[weather[1][0]] - ts[weather[0][0]] >= 2 * WINDOW_MS


class _NeedsInputFails:
    """A writer whose ``needs_input`` write fails (e.g. an earlier flush broke) while stages still work."""

    def __init__(self) -> None:
        self.stages: list[str] = []

    def stage(self, stage: str, status: StageStatus, intent: str | None = None) -> None:
        self.stages.append(status.value)

    def needs_input(self, data: object) -> None:
        raise StreamError("write failed")

    def withdraw(self) -> bool:
        return False

    def close(self) -> None: ...


def test_a_failed_needs_input_write_does_not_cost_the_stage_its_end() -> None:
    writer = _NeedsInputFails()

    class Events:
        def open(self, job_id: str, traceparent: str | None = None) -> _NeedsInputFails:
            return writer

    asks = ScriptedSubagent("location", lambda q: SubagentResult("location", ResultStatus.NEEDS_INPUT))
    SubagentRunner({"location": asks}, Events(), metrics=NOOP_METRICS, telemetry=NOOP_TELEMETRY).run(
        "location", query("ni")
    )  # type: ignore[arg-type]
    assert writer.stages == ["started", "completed"]
