"""``EventStreamPort`` and the ``JobEventsPort`` writers it opens (eco2/ports/events.py, docs/contract.md).

Run against the Redis Streams adapter (a real redis-server, the production token window, so writes are
buffered and coalesced) and the in-memory one (``eco2 chat --inline``, which writes at once). Streams are
read back only through the port (``follow``, ``snapshot``, ``status``), as a gateway reads them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.redis_streams import RedisStreamsEvents
from eco2.domain.events import CANCEL_MODES, Claim, JobStatus, StageStatus
from eco2.ports.events import EventStreamPort
from tests.contract.conftest import implementation

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

IMPLEMENTATIONS = [
    implementation(
        RedisStreamsEvents,
        lambda request: RedisStreamsEvents(
            redis.Redis.from_url(request.getfixturevalue("redis_url")), prefix="contract", ttl_s=60, flush_ms=20
        ),
        marks=pytest.mark.redis,
    ),
    implementation(MemoryEvents),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def streams(request: pytest.FixtureRequest) -> EventStreamPort:
    port: EventStreamPort = request.param(request)
    return port


@pytest.fixture
def job_id() -> str:
    return f"job-{uuid.uuid4().hex[:8]}"


def read(streams: EventStreamPort, job_id: str, after: str = "0-0", timeout_s: float = 2.0) -> list[dict[str, str]]:
    return [fields for _id, fields in streams.follow(job_id, after=after, block_ms=50, timeout_s=timeout_s)]


def shape(entries: list[dict[str, str]]) -> list[tuple[Any, ...]]:
    """What a reader sees, with adjacent tokens of one node merged (writers may coalesce them)."""
    out: list[tuple[Any, ...]] = []
    for e in entries:
        kind = e["type"]
        if kind == "token":
            if out and out[-1][0] == "token" and out[-1][1] == e["node"]:
                out[-1] = ("token", e["node"], out[-1][2] + e["delta"])
            else:
                out.append(("token", e["node"], e["delta"]))
        elif kind == "stage":
            out.append(("stage", e["stage"], e["status"], e.get("intent", "")))
        elif kind in ("needs_input", "done", "error"):
            out.append((kind, json.loads(e["data"])))
        else:
            out.append((kind,))
    return out


def late_reader_text(streams: EventStreamPort, job_id: str) -> str:
    """What a reader arriving now rebuilds: the snapshot's answer, then the entries after its ``last_seq``."""
    snapshot = streams.snapshot(job_id)
    assert snapshot is not None
    text = snapshot.answer
    for _id, e in streams.follow(job_id, block_ms=20, timeout_s=0.2):
        if int(e["seq"]) > snapshot.last_seq:
            text = "" if e["type"] == "reset" else text + e.get("delta", "")
    return text


class Observer:
    """A ``WriteObserver`` that counts what it is told."""

    def __init__(self) -> None:
        self.tokens = 0
        self.flushes = 0
        self.resets = 0
        self.seconds: list[float] = []

    def on_flush(self, tokens: int, seconds: float) -> None:
        self.tokens += tokens
        self.flushes += 1
        self.seconds.append(seconds)

    def on_reset(self) -> None:
        self.resets += 1


# -- order and shape ----------------------------------------------------------------------------------------
def test_readers_see_the_calls_in_order_with_seq_from_one(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.STARTED)
    w.stage("intent", StageStatus.COMPLETED, intent="waste")
    w.token("answer", "페트병은 ")
    w.token("answer", "라벨을 ")
    w.stage("weather", StageStatus.SKIPPED)
    w.token("answer", "떼요")
    w.needs_input({"field": "location", "prompt": "어디 계세요?"})
    assert w.done({"intent": "waste"}) is True

    entries = read(streams, job_id)
    assert shape(entries)[:-1] == [
        ("stage", "intent", "started", ""),
        ("stage", "intent", "completed", "waste"),
        ("token", "answer", "페트병은 라벨을 "),
        ("stage", "weather", "skipped", ""),
        ("token", "answer", "떼요"),
        ("needs_input", {"field": "location", "prompt": "어디 계세요?"}),
    ]
    assert entries[-1]["type"] == "done"
    assert [int(e["seq"]) for e in entries] == list(range(1, len(entries) + 1))
    for e in entries:
        assert {"seq", "type", "ts"} <= set(e)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in e.items())
        assert int(e["ts"]) > 1_600_000_000_000  # epoch milliseconds


def test_many_tokens_keep_their_text_and_order(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    pieces = [f"{n}번째 " for n in range(300)]
    for piece in pieces:
        w.token("answer", piece)
    w.done({})
    entries = read(streams, job_id)
    assert "".join(e["delta"] for e in entries if e["type"] == "token") == "".join(pieces)
    assert json.loads(entries[-1]["data"])["answer"] == "".join(pieces)


def test_needs_input_and_error_carry_json_objects(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.needs_input({"subagent": "location", "field": "location", "prompt": "어디 계세요?"})
    assert w.error("empty_message", "message is empty") is True
    first, last = read(streams, job_id)
    assert json.loads(first["data"]) == {"subagent": "location", "field": "location", "prompt": "어디 계세요?"}
    assert json.loads(last["data"]) == {"code": "empty_message", "message": "message is empty"}


def test_traceparent_is_carried_on_every_event(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id, traceparent=TRACEPARENT)
    w.stage("intent", StageStatus.STARTED)
    w.token("answer", "가")
    w.done({})
    entries = read(streams, job_id)
    assert len(entries) == 3
    assert all(e["traceparent"] == TRACEPARENT for e in entries)


def test_without_traceparent_no_event_has_one(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.STARTED)
    w.done({})
    assert all("traceparent" not in e for e in read(streams, job_id))


# -- the answer, resets and the one terminal event --------------------------------------------------------------
def test_done_answer_is_the_streamed_text_since_the_last_reset(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.token("answer", "버려진 ")
    w.token("answer", "초안")
    w.begin_answer()
    w.token("answer", "페트병은 ")
    w.token("answer", "헹궈요")
    # A caller's own "answer" key cannot disagree with what readers streamed.
    assert w.done({"intent": "waste", "sources": [{"title": "t", "url": ""}], "answer": "다른 글"}) is True
    entries = read(streams, job_id)
    assert [e["type"] for e in entries].count("reset") == 1
    streamed = ""
    for e in entries:
        streamed = "" if e["type"] == "reset" else streamed + e.get("delta", "")
    data = json.loads(entries[-1]["data"])
    assert data["answer"] == streamed == "페트병은 헹궈요"
    assert data["intent"] == "waste"
    assert data["sources"] == [{"title": "t", "url": ""}]


def test_begin_answer_before_any_text_writes_no_reset(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("answer", StageStatus.STARTED)
    w.begin_answer()
    w.token("answer", "처음")
    w.done({})
    assert [e["type"] for e in read(streams, job_id)] == ["stage", "token", "done"]


def test_done_without_tokens_has_an_empty_answer(streams: EventStreamPort, job_id: str) -> None:
    assert streams.open(job_id).done({"intent": "general"})
    (entry,) = read(streams, job_id)
    assert json.loads(entry["data"])["answer"] == ""


@pytest.mark.parametrize("first", ["done", "error"])
def test_exactly_one_terminal_event_and_nothing_after_it(streams: EventStreamPort, job_id: str, first: str) -> None:
    w = streams.open(job_id)
    w.token("answer", "a")
    assert (w.done({}) if first == "done" else w.error("timeout", "too slow")) is True
    # Every later write, by this writer or another one of the job, is dropped without raising.
    for writer in (w, streams.open(job_id)):
        assert writer.done({}) is False
        assert writer.error("late", "too late") is False
        writer.token("answer", "zombie")
        writer.stage("answer", StageStatus.STARTED)
        writer.begin_answer()
        writer.needs_input({"field": "x"})
        writer.flush()
        writer.close()
    entries = read(streams, job_id)
    assert [e["type"] for e in entries] == ["token", first]


def test_writers_of_one_job_share_its_seq_and_answer(streams: EventStreamPort, job_id: str) -> None:
    # A job goes on in another task after ``close``: the next writer continues the same stream.
    first = streams.open(job_id)
    first.token("answer", "앞부분 ")
    first.close()
    second = streams.open(job_id)
    second.token("answer", "뒷부분")
    assert second.done({})
    entries = read(streams, job_id)
    assert [int(e["seq"]) for e in entries] == list(range(1, len(entries) + 1))
    assert json.loads(entries[-1]["data"])["answer"] == "앞부분 뒷부분"


# -- snapshot and status ------------------------------------------------------------------------------------
def test_an_unknown_job_has_no_snapshot_and_no_status(streams: EventStreamPort) -> None:
    assert streams.snapshot("never-seen") is None
    assert streams.status("never-seen") is None


def test_snapshot_follows_the_job_and_a_late_reader_rebuilds_the_answer(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.COMPLETED, intent="weather")
    w.token("answer", "오늘은 ")
    w.token("answer", "맑아요")
    w.flush()  # written now: readers see it without waiting for the next event
    running = streams.snapshot(job_id)
    assert running is not None
    assert running.status is JobStatus.RUNNING
    assert streams.status(job_id) is JobStatus.RUNNING
    assert running.intent == "weather"
    assert running.cancelled == ""
    assert late_reader_text(streams, job_id) == "오늘은 맑아요"

    w.begin_answer()
    w.token("answer", "다시: 맑음")
    w.flush()
    assert late_reader_text(streams, job_id) == "다시: 맑음"
    assert w.done({"intent": "weather"})

    ended = streams.snapshot(job_id)
    assert ended is not None
    assert ended.status is JobStatus.DONE
    assert streams.status(job_id) is JobStatus.DONE
    assert ended.answer == "다시: 맑음"
    assert ended.last_seq == int(read(streams, job_id)[-1]["seq"])
    assert ended.updated_ms >= running.updated_ms > 0


def test_an_error_ends_the_job_with_status_error(streams: EventStreamPort, job_id: str) -> None:
    streams.open(job_id).error("internal_error", "boom")
    snapshot = streams.snapshot(job_id)
    assert snapshot is not None
    assert snapshot.status is JobStatus.ERROR
    assert streams.status(job_id) is JobStatus.ERROR


def test_mark_queued_shows_a_waiting_job_until_it_starts(streams: EventStreamPort, job_id: str) -> None:
    streams.mark_queued(job_id)
    snapshot = streams.snapshot(job_id)
    assert snapshot is not None
    assert snapshot.status is JobStatus.QUEUED
    assert streams.status(job_id) is JobStatus.QUEUED
    assert read(streams, job_id, timeout_s=0.2) == []
    w = streams.open(job_id)  # its turn comes
    w.stage("intent", StageStatus.STARTED)
    w.flush()
    assert streams.status(job_id) is JobStatus.RUNNING


def test_mark_queued_never_sends_a_started_job_back(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.STARTED)
    w.flush()
    streams.mark_queued(job_id)
    assert streams.status(job_id) is JobStatus.RUNNING
    w.done({})
    streams.mark_queued(job_id)
    assert streams.status(job_id) is JobStatus.DONE


def test_reject_records_without_touching_any_job_stream(streams: EventStreamPort, job_id: str) -> None:
    streams.reject("missing_job_id", "job_id is required", None)
    streams.reject("duplicate_job_id", "job_id was used", job_id)
    assert streams.status(job_id) is None
    assert read(streams, job_id, timeout_s=0.2) == []


# -- follow -------------------------------------------------------------------------------------------------
def test_follow_resumes_after_a_stream_id(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.STARTED)
    w.stage("intent", StageStatus.COMPLETED)
    w.done({})
    ids = [stream_id for stream_id, _ in streams.follow(job_id, timeout_s=2)]
    assert len(ids) == len(set(ids)) == 3
    resumed = list(streams.follow(job_id, after=ids[0], timeout_s=2))
    assert [stream_id for stream_id, _ in resumed] == ids[1:]
    assert [f["seq"] for _, f in resumed] == ["2", "3"]


def test_follow_waits_for_events_written_later_and_stops_at_the_terminal_one(
    streams: EventStreamPort, job_id: str
) -> None:
    seen: list[dict[str, str]] = []
    reader = threading.Thread(target=lambda: seen.extend(read(streams, job_id, timeout_s=5)))
    reader.start()
    time.sleep(0.1)
    w = streams.open(job_id)
    w.token("answer", "늦게 ")
    w.flush()
    time.sleep(0.05)
    w.token("answer", "온 답")
    w.done({})
    reader.join(5)
    assert not reader.is_alive()
    assert [e["type"] for e in seen][-1] == "done"
    assert json.loads(seen[-1]["data"])["answer"] == "늦게 온 답"


def test_follow_gives_up_after_its_timeout_on_a_job_that_does_not_end(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("intent", StageStatus.STARTED)
    w.flush()
    started = time.monotonic()
    entries = read(streams, job_id, timeout_s=0.3)
    assert 0.25 <= time.monotonic() - started < 2.0
    assert [e["type"] for e in entries] == ["stage"]


# -- claim and cancel ---------------------------------------------------------------------------------------
def test_a_job_is_claimed_by_one_message_at_a_time(streams: EventStreamPort, job_id: str) -> None:
    assert streams.claim(job_id, "message-a") is Claim.CLAIMED
    assert streams.claim(job_id, "message-a") is Claim.CLAIMED  # redelivered or retried
    assert streams.claim(job_id, "message-b") is Claim.IN_USE
    assert streams.claim(job_id, "message-c", take_over=True) is Claim.CLAIMED  # the session hands it on
    assert streams.claim(job_id, "message-a") is Claim.IN_USE
    assert streams.claim(job_id, "message-c") is Claim.CLAIMED
    assert streams.open(job_id).done({})
    assert streams.claim(job_id, "message-c") is Claim.FINISHED
    assert streams.claim(job_id, "message-d", take_over=True) is Claim.FINISHED


def test_claims_of_different_jobs_are_independent(streams: EventStreamPort, job_id: str) -> None:
    assert streams.claim(f"{job_id}-1", "message") is Claim.CLAIMED
    assert streams.claim(f"{job_id}-2", "message") is Claim.CLAIMED
    assert streams.claim(f"{job_id}-2", "other") is Claim.IN_USE


@pytest.mark.parametrize("mode", sorted(CANCEL_MODES))
def test_cancel_ends_a_running_job_and_its_writer_learns_it(streams: EventStreamPort, job_id: str, mode: str) -> None:
    writer = streams.open(job_id)
    writer.token("answer", "반")
    writer.flush()
    assert writer.ended is False
    assert streams.cancel(job_id, mode) == "cancelled"
    writer.token("answer", "쯤")
    writer.flush()  # its next write finds the job ended
    assert writer.ended is True
    assert writer.done({}) is False
    entries = read(streams, job_id)
    assert [e["type"] for e in entries] == ["token", "error"]
    assert json.loads(entries[-1]["data"]) == {"code": "cancelled", "message": CANCEL_MODES[mode]}
    snapshot = streams.snapshot(job_id)
    assert snapshot is not None
    assert snapshot.status is JobStatus.ERROR
    assert snapshot.cancelled == mode
    assert streams.cancel(job_id) == "finished"  # nothing changes the second time
    assert [e["type"] for e in read(streams, job_id)].count("error") == 1


def test_a_job_cancelled_before_any_worker_took_it_is_claimed_as_cancelled(
    streams: EventStreamPort, job_id: str
) -> None:
    assert streams.cancel(job_id) == "cancelled"
    assert streams.claim(job_id, "message-1") is Claim.CANCELLED
    (entry,) = read(streams, job_id)
    assert json.loads(entry["data"])["code"] == "cancelled"
    assert streams.open(job_id).done({}) is False


def test_cancelling_a_finished_job_changes_nothing(streams: EventStreamPort, job_id: str) -> None:
    assert streams.open(job_id).done({"intent": "general"})
    assert streams.cancel(job_id) == "finished"
    assert streams.claim(job_id, "message-2") is Claim.FINISHED
    snapshot = streams.snapshot(job_id)
    assert snapshot is not None
    assert snapshot.status is JobStatus.DONE
    assert snapshot.cancelled == ""
    assert [e["type"] for e in read(streams, job_id)] == ["done"]


def test_a_writer_that_ended_the_job_itself_knows_it_ended(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.token("answer", "끝")
    assert w.ended is False
    assert w.done({})
    assert w.ended is True


# -- withdraw and observe -----------------------------------------------------------------------------------
def test_withdraw_drops_only_what_has_not_been_written(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    w.stage("waste_rag", StageStatus.STARTED)
    withdrawn = w.withdraw()  # the caller learns which happened and acts on it
    assert w.done({})
    assert [e["type"] for e in read(streams, job_id)] == (["done"] if withdrawn else ["stage", "done"])


def test_withdraw_refuses_once_something_was_written_or_nothing_is_buffered(
    streams: EventStreamPort, job_id: str
) -> None:
    w = streams.open(job_id)
    assert w.withdraw() is False  # nothing buffered
    w.stage("weather", StageStatus.STARTED)
    w.flush()
    w.stage("weather", StageStatus.COMPLETED)
    assert w.withdraw() is False  # something went out already: the rest stays
    assert w.done({})
    statuses = [e.get("status", e["type"]) for e in read(streams, job_id)]
    assert statuses == ["started", "completed", "done"]


def test_an_observer_hears_every_token_write_and_every_reset(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    observer = Observer()
    w.observe(observer)
    for n in range(20):
        w.token("answer", f"{n} ")
    w.flush()
    w.begin_answer()  # text exists: a reset is written
    w.token("answer", "다시")
    w.done({})
    assert observer.tokens == 21
    assert observer.resets == 1
    assert 1 <= observer.flushes <= 21
    assert all(s >= 0 for s in observer.seconds)


def test_observe_none_stops_the_reports(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    observer = Observer()
    w.observe(observer)
    w.token("answer", "하나")
    w.flush()
    w.observe(None)
    w.token("answer", "둘")
    w.begin_answer()
    w.done({})
    assert (observer.tokens, observer.resets) == (1, 0)


def test_a_reset_that_is_not_written_is_not_reported(streams: EventStreamPort, job_id: str) -> None:
    w = streams.open(job_id)
    observer = Observer()
    w.observe(observer)
    w.begin_answer()  # no text yet: no reset
    w.done({})
    assert observer.resets == 0
