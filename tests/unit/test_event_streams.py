"""Conformance of the event stream port: the Redis adapter and the in-memory one obey the same rules."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.redis_streams import RedisStreamsEvents
from eco2.domain.events import Claim, JobStatus, StageStatus
from eco2.ports.events import EventStreamPort

pytestmark = pytest.mark.redis


@pytest.fixture(params=["redis", "memory"])
def streams(request: pytest.FixtureRequest, redis_url: str) -> Iterator[EventStreamPort]:
    if request.param == "redis":
        yield RedisStreamsEvents(redis.Redis.from_url(redis_url), prefix="t", ttl_s=60, flush_ms=5)
    else:
        yield MemoryEvents()


def _all(streams: EventStreamPort, job_id: str) -> list[dict[str, str]]:
    return [fields for _id, fields in streams.follow(job_id, timeout_s=2)]


def test_seq_starts_at_one_and_increases_by_one(streams: EventStreamPort) -> None:
    w = streams.open("j1")
    w.stage("intent", StageStatus.STARTED)
    w.token("answer", "가")
    w.stage("intent", StageStatus.COMPLETED, intent="waste")
    w.done({"intent": "waste"})
    events = _all(streams, "j1")
    assert [int(e["seq"]) for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) >= {"seq", "type", "ts"} for e in events)


def test_done_answer_equals_tokens_since_last_reset(streams: EventStreamPort) -> None:
    w = streams.open("j2")
    w.token("answer", "버려진 ")
    w.token("answer", "초안")
    w.begin_answer()
    for piece in ["페트병은 ", "라벨을 ", "떼요"]:
        w.token("answer", piece)
    w.done({"intent": "waste", "sources": []})
    events = _all(streams, "j2")
    text = ""
    for e in events:
        text = "" if e["type"] == "reset" else text + e.get("delta", "")
    data = json.loads(events[-1]["data"])
    assert data["answer"] == text == "페트병은 라벨을 떼요"
    assert data["sources"] == []
    snap = streams.snapshot("j2")
    assert snap is not None
    assert snap.status is JobStatus.DONE
    assert snap.answer == text
    assert snap.last_seq == int(events[-1]["seq"])
    assert snap.intent == "waste"


def test_begin_answer_without_earlier_text_does_not_reset(streams: EventStreamPort) -> None:
    w = streams.open("j3")
    w.begin_answer()
    w.error("x", "y")
    assert [e["type"] for e in _all(streams, "j3")] == ["error"]


def test_exactly_one_terminal_event_and_it_is_last(streams: EventStreamPort) -> None:
    w = streams.open("j4")
    w.token("answer", "a")
    assert w.done({"intent": "general"}) is True
    assert w.done({"intent": "general"}) is False
    assert streams.open("j4").error("late", "too late") is False
    streams.open("j4").token("answer", "zombie")
    streams.open("j4").stage("answer", StageStatus.STARTED)
    streams.open("j4").flush()
    events = _all(streams, "j4")
    assert [e["type"] for e in events] == ["token", "done"]


def test_error_event_carries_code_and_message(streams: EventStreamPort) -> None:
    assert streams.open("j5").error("empty_message", "message is empty") is True
    (event,) = _all(streams, "j5")
    assert json.loads(event["data"]) == {"code": "empty_message", "message": "message is empty"}
    snap = streams.snapshot("j5")
    assert snap is not None
    assert snap.status is JobStatus.ERROR


def test_traceparent_is_carried_on_every_event(streams: EventStreamPort) -> None:
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    w = streams.open("j6", traceparent=tp)
    w.stage("intent", StageStatus.STARTED)
    w.done({"intent": "general"})
    assert all(e["traceparent"] == tp for e in _all(streams, "j6"))


def test_needs_input_has_json_data(streams: EventStreamPort) -> None:
    w = streams.open("j7")
    w.needs_input({"field": "location", "prompt": "어디 계세요?"})
    w.done({"intent": "location"})
    first = _all(streams, "j7")[0]
    assert first["type"] == "needs_input"
    assert json.loads(first["data"])["field"] == "location"


def test_unknown_job_has_no_snapshot(streams: EventStreamPort) -> None:
    assert streams.snapshot("nope") is None


def test_follow_resumes_after_a_stream_id(streams: EventStreamPort) -> None:
    w = streams.open("j8")
    w.stage("intent", StageStatus.STARTED)
    w.stage("intent", StageStatus.COMPLETED)
    w.done({"intent": "general"})
    events = list(streams.follow("j8", timeout_s=2))
    resumed = list(streams.follow("j8", after=events[0][0], timeout_s=2))
    assert [f["seq"] for _i, f in resumed] == ["2", "3"]


# -- Redis-specific behaviour -------------------------------------------------------------------------
@pytest.fixture
def rstreams(redis_url: str) -> RedisStreamsEvents:
    return RedisStreamsEvents(redis.Redis.from_url(redis_url), prefix="t", ttl_s=60, flush_ms=20)


def test_tokens_are_coalesced_into_few_entries_in_order(rstreams: RedisStreamsEvents) -> None:
    w = rstreams.open("c1")
    pieces = [f"{n} " for n in range(200)]
    for piece in pieces:
        w.token("answer", piece)
    w.done({"intent": "general"})
    events = _all(rstreams, "c1")
    tokens = [e for e in events if e["type"] == "token"]
    assert len(tokens) < 20
    assert "".join(e["delta"] for e in tokens) == "".join(pieces)


def late_reader_text(streams: RedisStreamsEvents, client: redis.Redis, job_id: str) -> str:
    """What a reader arriving now reconstructs: the snapshot, then token entries after its last_seq."""
    snap = streams.snapshot(job_id)
    assert snap is not None
    text = snap.answer
    for _id, raw in client.xrange(f"t:chat:{job_id}:events"):
        if int(raw[b"seq"]) > snap.last_seq:
            if raw[b"type"] == b"reset":
                text = ""
            elif raw[b"type"] == b"token":
                text += raw[b"delta"].decode()
    return text


def test_a_lone_token_is_flushed_within_the_window(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    w = rstreams.open("c2")
    w.token("answer", "혼자")
    time.sleep(0.15)  # no further call: only the background flusher can have written it
    assert late_reader_text(rstreams, rclient, "c2") == "혼자"


def test_replayed_batch_is_applied_once(rstreams: RedisStreamsEvents) -> None:
    from eco2.domain.events import StreamKeys

    keys = StreamKeys.for_job("t", "c3")
    batch = ["token", "answer", "한 번", ""]
    assert rstreams.emit(keys, "", "writer-a", 1, batch) == (0, 0)
    assert rstreams.emit(keys, "", "writer-a", 1, batch) == (1, 0)  # a client retry after a lost reply
    assert rstreams.client.xlen(keys.events) == 1
    assert rstreams.client.get(keys.answer) == "한 번".encode()


def test_keys_expire_after_the_job_ends(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    w = rstreams.open("c4")
    w.token("answer", "a")
    w.flush()
    assert rclient.ttl("t:chat:c4:events") > 3600
    w.done({"intent": "general"})
    for key in ("t:chat:c4:events", "t:chat:c4:snapshot", "t:chat:c4:seq"):
        assert 0 < rclient.ttl(key) <= 60


def test_snapshot_update_does_not_resend_the_answer(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    # The script receives only the new delta: the client's bytes per flush do not grow with the answer.
    w = rstreams.open("c5")
    sent: list[int] = []
    original = rstreams.emit

    def spy(keys, tp, writer, batch, events):  # type: ignore[no-untyped-def]
        sent.append(sum(len(str(e)) for e in events))
        return original(keys, tp, writer, batch, events)

    rstreams.emit = spy  # type: ignore[method-assign]
    for n in range(50):
        w.token("answer", "가" * 100)
        w.flush()
        assert late_reader_text(rstreams, rclient, "c5") == "가" * 100 * (n + 1)
    assert max(sent) == min(sent)
    w.done({"intent": "general"})
    snap = rstreams.snapshot("c5")
    assert snap is not None
    assert len(snap.answer) == 5000
    assert snap.last_seq == 51


def test_rejected_jobs_are_recorded(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    rstreams.reject("missing_job_id", "job_id is required", None)
    (entry,) = rclient.xrange("t:chat:rejected")
    assert entry[1][b"code"] == b"missing_job_id"


def test_withdraw_drops_only_events_that_have_not_gone_out(streams: EventStreamPort) -> None:
    w = streams.open("jw")
    w.stage("waste_rag", StageStatus.STARTED)
    withdrawn = w.withdraw()  # the Redis writer still holds it; the in-memory one wrote it at once
    w.done({"intent": "waste"})
    types = [e["type"] for e in _all(streams, "jw")]
    assert types == (["done"] if withdrawn else ["stage", "done"])
    w2 = streams.open("jw2")
    w2.stage("weather", StageStatus.STARTED)
    w2.flush()
    w2.stage("weather", StageStatus.COMPLETED)
    assert w2.withdraw() is False  # something went out already: the rest stays and is written
    w2.done({"intent": "weather"})
    assert [e.get("status", e["type"]) for e in _all(streams, "jw2")] == ["started", "completed", "done"]


def _visible(rstreams: RedisStreamsEvents, rclient: redis.Redis, job_id: str, text: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if rstreams.snapshot(job_id) is not None and late_reader_text(rstreams, rclient, job_id) == text:
            return True
        time.sleep(0.005)
    return False


def test_a_token_after_a_quiet_window_is_written_at_once(redis_url: str, rclient: redis.Redis) -> None:
    # A 300 ms window: coalescing holds a token that follows a write closely, never one after a pause.
    slow = RedisStreamsEvents(redis.Redis.from_url(redis_url), prefix="t", ttl_s=60, flush_ms=300)
    w = slow.open("lead")
    w.token("answer", "첫")
    assert _visible(slow, rclient, "lead", "첫", 0.15), "the first token waited for a window"
    w.token("answer", "둘")
    assert not _visible(slow, rclient, "lead", "첫둘", 0.1), "a token right after a write was not coalesced"
    assert _visible(slow, rclient, "lead", "첫둘", 1.0)
    time.sleep(0.35)  # the window since the last write has passed
    w.token("answer", "셋")
    assert _visible(slow, rclient, "lead", "첫둘셋", 0.15), "a token after a quiet window waited for another"
    w.done({"intent": "general"})


def test_jobs_due_together_share_one_round_trip(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    rounds: list[int] = []
    original = rstreams.emit_many

    def spy(calls):  # type: ignore[no-untyped-def]
        rounds.append(len(calls))
        return original(calls)

    rstreams.emit_many = spy  # type: ignore[method-assign]
    writers = [rstreams.open(f"many-{n}") for n in range(40)]
    for n, w in enumerate(writers):
        w.stage("answer", StageStatus.STARTED)  # all due one window from now
        w.token("answer", f"토큰{n}")
    time.sleep(0.3)
    assert sum(rounds) == 40
    assert len(rounds) <= 5, f"40 due buffers took {len(rounds)} round trips"
    for n, w in enumerate(writers):
        assert late_reader_text(rstreams, rclient, f"many-{n}") == f"토큰{n}"
        assert w.done({"intent": "general"})


def test_a_server_that_lost_the_script_is_given_it_again(rstreams: RedisStreamsEvents, rclient: redis.Redis) -> None:
    w = rstreams.open("noscript")
    w.token("answer", "앞")
    w.flush()
    rclient.script_flush()  # as after a restart without persistence
    w.token("answer", "뒤")
    assert _visible(rstreams, rclient, "noscript", "앞뒤", 1.0)
    assert w.done({"intent": "general"})
    assert rstreams.snapshot("noscript").answer == "앞뒤"  # type: ignore[union-attr]


def test_a_terminal_write_waits_for_the_flushers_write_and_keeps_order(
    rstreams: RedisStreamsEvents, rclient: redis.Redis
) -> None:
    original = rstreams.emit_many
    started = threading.Event()

    def slow(calls):  # type: ignore[no-untyped-def]
        started.set()
        time.sleep(0.2)  # the flusher's round trip is still under way when done() is called
        return original(calls)

    rstreams.emit_many = slow  # type: ignore[method-assign]
    w = rstreams.open("order")
    w.token("answer", "먼저")
    assert started.wait(2)
    w.token("answer", " 나중")
    assert w.done({"intent": "general"})
    entries = [f for _id, f in rstreams.follow("order", timeout_s=2)]
    assert [e["type"] for e in entries] == ["token", "token", "done"]
    assert json.loads(entries[-1]["data"])["answer"] == "먼저 나중"


def test_a_failed_background_write_reaches_the_writer_and_the_flusher_goes_on(
    rstreams: RedisStreamsEvents, rclient: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from eco2.errors import StreamError
    from eco2.localrun import free_port

    client = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    down = RedisStreamsEvents(client, prefix="t", flush_ms=20)
    w = down.open("unreachable")
    w.token("answer", "못 감")  # due at once: the flusher thread tries, and fails
    deadline = time.monotonic() + 5
    with pytest.raises(StreamError):  # noqa: PT012 - the failure surfaces on the writer's next call
        while time.monotonic() < deadline:
            w.token("answer", "+")
            time.sleep(0.02)
    healthy = rstreams.open("after")  # the same flusher thread serves every owner
    healthy.token("answer", "살아 있음")
    assert _visible(rstreams, rclient, "after", "살아 있음", 1.0)
    assert healthy.done({"intent": "general"})
    # An unreachable Redis is the writer's error (its task retries), not a traceback per flusher tick.
    assert not [r for r in caplog.records if r.name.endswith("flusher") and r.levelno >= logging.ERROR]


def test_a_job_id_is_claimed_by_one_message_at_a_time(streams: EventStreamPort) -> None:
    from eco2.domain.events import Claim

    assert streams.claim("cl", "message-a") is Claim.CLAIMED
    assert streams.claim("cl", "message-a") is Claim.CLAIMED  # the same message again: redelivered, retried
    assert streams.claim("cl", "message-b") is Claim.IN_USE  # another message reusing a running job's id
    assert streams.claim("cl", "message-c", take_over=True) is Claim.CLAIMED  # a session handing the job on
    assert streams.claim("cl", "message-a") is Claim.IN_USE
    assert streams.open("cl").done({"intent": "general"})
    assert streams.claim("cl", "message-c") is Claim.FINISHED
    assert streams.claim("cl", "message-d") is Claim.FINISHED


def test_a_cancel_ends_the_job_and_its_running_writer_learns_it(streams: EventStreamPort) -> None:
    writer = streams.open("c1")
    writer.stage("intent", StageStatus.STARTED)
    writer.token("answer", "반")
    writer.flush()
    assert not writer.ended
    assert streams.cancel("c1") == "cancelled"
    writer.token("answer", "쯤")
    writer.flush()  # the job's own next write finds it ended: it stops instead of streaming on
    assert writer.ended
    assert not writer.done({"answer": "반쯤"})
    entries = _all(streams, "c1")
    assert entries[-1]["type"] == "error"
    assert json.loads(entries[-1]["data"])["code"] == "cancelled"
    assert [e["type"] for e in entries].count("error") == 1
    snapshot = streams.snapshot("c1")
    assert snapshot is not None
    assert snapshot.cancelled
    assert streams.cancel("c1") == "finished"  # a second cancel changes nothing


def test_a_job_cancelled_before_its_message_is_taken_claims_as_cancelled(streams: EventStreamPort) -> None:
    assert streams.cancel("c2") == "cancelled"
    assert streams.claim("c2", "message-1") is Claim.CANCELLED
    done = streams.open("c3")
    done.done({"answer": "끝"})
    assert streams.cancel("c3") == "finished"
    assert streams.claim("c3", "message-2") is Claim.FINISHED
    snapshot = streams.snapshot("c3")
    assert snapshot is not None
    assert not snapshot.cancelled
