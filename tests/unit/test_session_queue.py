"""Conformance of the session queue: one running job per session, the rest in FIFO order."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from eco2.adapters.memory.sessions import MemorySessionQueue
from eco2.adapters.redis_streams.sessions import RedisSessionQueue
from eco2.ports.sessions import SessionQueuePort

pytestmark = pytest.mark.redis


@pytest.fixture(params=["redis", "memory"])
def queue(request: pytest.FixtureRequest, redis_url: str) -> Iterator[SessionQueuePort]:
    if request.param == "redis":
        yield RedisSessionQueue(redis.Redis.from_url(redis_url), prefix="t")
    else:
        yield MemorySessionQueue()


def kw(job: str) -> dict[str, str]:
    return {"job_id": job, "message": f"m-{job}", "session_id": "s"}


def test_idle_session_runs_at_once(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60).run_now


def test_second_job_waits_and_runs_after_release(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60).run_now
    assert not queue.admit("s", "b", kw("b"), 60).run_now
    assert not queue.admit("s", "c", kw("c"), 60).run_now
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.admit("s", "b", kw("b"), 60).run_now  # the promoted job starts
    assert queue.release("s", "b", 60) == kw("c")
    assert queue.release("s", "c", 60) is None
    assert queue.admit("s", "d", kw("d"), 60).run_now


def test_redelivered_job_is_not_queued_twice(queue: SessionQueuePort) -> None:
    queue.admit("s", "a", kw("a"), 60)
    queue.admit("s", "b", kw("b"), 60)
    queue.admit("s", "b", kw("b"), 60)
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.release("s", "b", 60) is None


def test_running_job_readmitted_keeps_running(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60).run_now
    assert queue.admit("s", "a", kw("a"), 60).run_now


def test_only_the_holder_can_release(queue: SessionQueuePort) -> None:
    queue.admit("s", "a", kw("a"), 60)
    queue.admit("s", "b", kw("b"), 60)
    assert queue.release("s", "b", 60) is None
    assert queue.release("s", "a", 60) == kw("b")


def test_expired_lease_hands_session_to_the_oldest_waiting_job(queue: SessionQueuePort) -> None:
    queue.admit("s", "a", kw("a"), 0.2)
    queue.admit("s", "b", kw("b"), 0.2)
    time.sleep(0.3)
    admission = queue.admit("s", "c", kw("c"), 60)
    assert not admission.run_now
    assert admission.promoted == kw("b")
    assert queue.release("s", "b", 60) == kw("c")


def test_sessions_are_independent(queue: SessionQueuePort) -> None:
    assert queue.admit("s1", "a", kw("a"), 60).run_now
    assert queue.admit("s2", "b", kw("b"), 60).run_now


def test_jobs_run_in_arrival_order_whatever_order_their_admissions_run_in(queue: SessionQueuePort) -> None:
    for job in ("a", "b", "c"):
        queue.arrived("s", job)  # the consumer, in the order the messages left the queue
    assert not queue.admit("s", "c", kw("c"), 60).run_now  # c's task got going first: it waits for a
    assert not queue.admit("s", "b", kw("b"), 60).run_now
    assert queue.admit("s", "a", kw("a"), 60).run_now
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.admit("s", "b", kw("b"), 60).run_now
    assert queue.release("s", "b", 60) == kw("c")


def test_a_release_waits_for_an_earlier_arrival_that_has_not_been_admitted(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60).run_now
    queue.arrived("s", "b")
    queue.arrived("s", "c")
    assert not queue.admit("s", "c", kw("c"), 60).run_now
    assert queue.release("s", "a", 60) is None  # b has arrived but not been admitted: nobody is handed on
    assert queue.admit("s", "b", kw("b"), 60).run_now
    assert queue.release("s", "b", 60) == kw("c")


def test_an_arrival_that_never_reaches_admission_is_given_up_after_its_lease(queue: SessionQueuePort) -> None:
    queue.arrived("s", "lost")  # its message will never be run
    assert not queue.admit("s", "b", kw("b"), 0.2).run_now
    time.sleep(0.3)
    assert queue.admit("s", "c", kw("c"), 0.2).promoted == kw("b")


def test_a_job_that_will_never_run_is_forgotten_and_the_next_one_is_handed_the_session(
    queue: SessionQueuePort,
) -> None:
    queue.arrived("s", "ended")  # a message of a job that had already ended, redelivered
    queue.arrived("s", "b")
    assert not queue.admit("s", "b", kw("b"), 60).run_now
    assert queue.forget("s", "ended", 60) == kw("b")
    assert queue.admit("s", "b", kw("b"), 60).run_now


def test_jobs_with_a_session_seq_run_in_seq_order_whatever_order_they_arrived_in(queue: SessionQueuePort) -> None:
    # Two workers took a session's messages at the same instant and recorded them the other way round.
    for job, seq in (("c", 3), ("a", 1), ("b", 2)):
        queue.arrived("s", job, seq)
    assert not queue.admit("s", "c", kw("c"), 60, seq=3).run_now
    assert not queue.admit("s", "b", kw("b"), 60, seq=2).run_now
    assert queue.admit("s", "a", kw("a"), 60, seq=1).run_now
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.admit("s", "b", kw("b"), 60, seq=2).run_now
    assert queue.release("s", "b", 60) == kw("c")


def test_an_idle_session_holds_a_job_whose_predecessor_has_not_arrived(queue: SessionQueuePort) -> None:
    # Message 2 was recorded before message 1 (another worker is about to record it): 2 must not start.
    queue.arrived("s", "b", 2)
    held = queue.admit("s", "b", kw("b"), 60, seq=2)
    assert held.held
    assert not held.run_now
    queue.arrived("s", "a", 1)
    assert queue.admit("s", "a", kw("a"), 60, seq=1).run_now
    assert not queue.admit("s", "b", kw("b"), 60, seq=2).run_now  # asks again: now it waits behind a
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.admit("s", "b", kw("b"), 60, seq=2).run_now
    queue.release("s", "b", 60)
    assert queue.admit("s", "c", kw("c"), 60, seq=3).run_now  # 3 follows 2: no hold


def test_a_gap_in_the_numbering_holds_only_until_the_caller_stops_holding(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60, seq=1).run_now
    queue.release("s", "a", 60)
    assert queue.admit("s", "c", kw("c"), 60, seq=5).held  # 2-4 never sent
    admitted = queue.admit("s", "c", kw("c"), 60, seq=5, hold=False)
    assert admitted.run_now
    assert not admitted.held
    queue.release("s", "c", 60)
    assert queue.admit("s", "d", kw("d"), 60, seq=6).run_now


def test_jobs_without_a_seq_keep_arrival_order_and_are_never_held(queue: SessionQueuePort) -> None:
    queue.arrived("s", "x")
    queue.arrived("s", "y", 7)  # a numbered one after an unnumbered one keeps its arrival place
    assert queue.admit("s", "x", kw("x"), 60).run_now
    assert not queue.admit("s", "y", kw("y"), 60, seq=7).run_now
    assert queue.release("s", "x", 60) == kw("y")


def test_a_promoted_job_that_will_never_run_passes_the_session_on(queue: SessionQueuePort) -> None:
    # b was handed the session when a ended, but its message found b already ended (cancelled): c goes next.
    assert queue.admit("s", "a", kw("a"), 60).run_now
    assert not queue.admit("s", "b", kw("b"), 60).run_now
    assert not queue.admit("s", "c", kw("c"), 60).run_now
    assert queue.release("s", "a", 60) == kw("b")
    assert queue.forget("s", "b", 60) == kw("c")
    assert queue.admit("s", "c", kw("c"), 60).run_now


def test_a_waiting_job_is_told_which_jobs_are_ahead_of_it(queue: SessionQueuePort) -> None:
    assert queue.admit("s", "a", kw("a"), 60).ahead == ()
    assert queue.admit("s", "b", kw("b"), 60).ahead == ("a",)
    assert queue.admit("s", "c", kw("c"), 60).ahead == ("a", "b")


def test_a_numbered_job_that_will_never_run_does_not_hold_the_next_number(queue: SessionQueuePort) -> None:
    queue.arrived("s", "a", 1)
    queue.forget("s", "a", 60)  # e.g. cancelled before any worker took it, or rejected as session_busy
    assert queue.admit("s", "b", kw("b"), 60, seq=2).run_now
