"""``SessionQueuePort`` (eco2/ports/sessions.py): one running job per session, the others in arrival order.

Run against the Redis adapter (one Lua script on a real redis-server) and the in-memory one. Leases are
short where a test needs one to run out.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis

from eco2.adapters.memory.sessions import MemorySessionQueue
from eco2.adapters.redis_streams.sessions import RedisSessionQueue
from eco2.ports.sessions import Admission, SessionQueuePort
from tests.contract.conftest import implementation

IMPLEMENTATIONS = [
    implementation(
        RedisSessionQueue,
        lambda request: RedisSessionQueue(
            redis.Redis.from_url(request.getfixturevalue("redis_url")), prefix="contract"
        ),
        marks=pytest.mark.redis,
    ),
    implementation(MemorySessionQueue),
]

LEASE = 60.0
SHORT = 0.2


@pytest.fixture(params=IMPLEMENTATIONS)
def queue(request: pytest.FixtureRequest) -> SessionQueuePort:
    port: SessionQueuePort = request.param(request)
    return port


@pytest.fixture
def s() -> str:
    """A fresh session id."""
    return f"session-{uuid.uuid4().hex[:8]}"


def kw(job: str, session: str = "s") -> dict[str, Any]:
    """A job's kwargs, with the nested JSON values real jobs carry (they must come back unchanged)."""
    return {
        "job_id": job,
        "message": f"{job} 메시지",
        "session_id": session,
        "session_seq": 7,
        "user_location": {"latitude": 37.5, "longitude": 127.03},
        "metadata": {"source": "contract"},
    }


def runs(admission: Admission) -> bool:
    return admission.run_now and not admission.held


# -- one job at a time, first come first served -----------------------------------------------------------
def test_an_idle_session_runs_a_job_at_once(queue: SessionQueuePort, s: str) -> None:
    admission = queue.admit(s, "a", kw("a", s), LEASE)
    assert admission == Admission(run_now=True)


def test_jobs_behind_a_running_one_wait_and_run_in_order(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    for job in ("b", "c"):
        waiting = queue.admit(s, job, kw(job, s), LEASE)
        assert not waiting.run_now
        assert waiting.promoted is None
        assert not waiting.held
    assert queue.release(s, "a", LEASE) == kw("b", s)  # the promoted job's kwargs, unchanged
    assert runs(queue.admit(s, "b", kw("b", s), LEASE))  # its message starts it
    assert queue.release(s, "b", LEASE) == kw("c", s)
    assert runs(queue.admit(s, "c", kw("c", s), LEASE))
    assert queue.release(s, "c", LEASE) is None
    assert runs(queue.admit(s, "d", kw("d", s), LEASE))  # idle again


def test_a_waiting_job_is_told_which_jobs_are_ahead_holder_first(queue: SessionQueuePort, s: str) -> None:
    assert queue.admit(s, "a", kw("a", s), LEASE).ahead == ()
    assert queue.admit(s, "b", kw("b", s), LEASE).ahead == ("a",)
    assert queue.admit(s, "c", kw("c", s), LEASE).ahead == ("a", "b")


def test_the_running_job_admitted_again_keeps_running(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))  # a redelivered message of the running job
    assert not queue.admit(s, "b", kw("b", s), LEASE).run_now


def test_a_waiting_job_admitted_again_is_queued_once(queue: SessionQueuePort, s: str) -> None:
    queue.admit(s, "a", kw("a", s), LEASE)
    queue.admit(s, "b", kw("b", s), LEASE)
    queue.admit(s, "b", kw("b", s), LEASE)
    assert queue.release(s, "a", LEASE) == kw("b", s)
    assert runs(queue.admit(s, "b", kw("b", s), LEASE))
    assert queue.release(s, "b", LEASE) is None


def test_only_the_holder_releases_the_session(queue: SessionQueuePort, s: str) -> None:
    queue.admit(s, "a", kw("a", s), LEASE)
    queue.admit(s, "b", kw("b", s), LEASE)
    assert queue.release(s, "b", LEASE) is None
    assert queue.release(s, "stranger", LEASE) is None
    assert queue.release(s, "a", LEASE) == kw("b", s)


def test_sessions_do_not_wait_for_each_other(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(f"{s}-1", "a", kw("a"), LEASE))
    assert runs(queue.admit(f"{s}-2", "b", kw("b"), LEASE))
    assert queue.release(f"{s}-2", "b", LEASE) is None


def test_releasing_an_unknown_session_hands_nothing_on(queue: SessionQueuePort, s: str) -> None:
    assert queue.release(s, "nobody", LEASE) is None
    assert queue.forget(s, "nobody", LEASE) is None


# -- leases -------------------------------------------------------------------------------------------------
def test_a_holder_whose_lease_ran_out_gives_way_to_the_oldest_waiting_job(queue: SessionQueuePort, s: str) -> None:
    queue.admit(s, "a", kw("a", s), SHORT)
    queue.admit(s, "b", kw("b", s), SHORT)
    time.sleep(SHORT + 0.1)  # a's worker died without releasing
    admission = queue.admit(s, "c", kw("c", s), LEASE)
    assert not admission.run_now
    assert admission.promoted == kw("b", s)  # to be enqueued now: its predecessor vanished
    assert queue.release(s, "b", LEASE) == kw("c", s)


def test_an_arrival_that_never_reaches_admission_is_given_up_after_the_lease(queue: SessionQueuePort, s: str) -> None:
    queue.arrived(s, "lost")  # its message is never run
    assert not queue.admit(s, "b", kw("b", s), SHORT).run_now
    time.sleep(SHORT + 0.1)
    assert queue.admit(s, "c", kw("c", s), SHORT).promoted == kw("b", s)


# -- arrival order ------------------------------------------------------------------------------------------
def test_jobs_run_in_arrival_order_whatever_order_admission_runs_in(queue: SessionQueuePort, s: str) -> None:
    for job in ("a", "b", "c"):
        queue.arrived(s, job)
    assert not queue.admit(s, "c", kw("c", s), LEASE).run_now
    assert not queue.admit(s, "b", kw("b", s), LEASE).run_now
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    assert queue.release(s, "a", LEASE) == kw("b", s)
    assert runs(queue.admit(s, "b", kw("b", s), LEASE))
    assert queue.release(s, "b", LEASE) == kw("c", s)


def test_a_release_waits_for_an_earlier_arrival_not_yet_admitted(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    queue.arrived(s, "b")
    queue.arrived(s, "c")
    assert not queue.admit(s, "c", kw("c", s), LEASE).run_now
    assert queue.release(s, "a", LEASE) is None  # b arrived first but has not asked yet: nobody is handed on
    assert runs(queue.admit(s, "b", kw("b", s), LEASE))
    assert queue.release(s, "b", LEASE) == kw("c", s)


def test_jobs_never_recorded_as_arrived_run_in_admission_order(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "x", kw("x", s), LEASE))
    queue.admit(s, "z", kw("z", s), LEASE)
    queue.admit(s, "y", kw("y", s), LEASE)
    assert queue.release(s, "x", LEASE) == kw("z", s)


# -- session_seq --------------------------------------------------------------------------------------------
def test_numbered_jobs_run_in_seq_order_whatever_order_they_arrived_in(queue: SessionQueuePort, s: str) -> None:
    for job, seq in (("c", 3), ("a", 1), ("b", 2)):
        queue.arrived(s, job, seq)
    assert not queue.admit(s, "c", kw("c", s), LEASE, seq=3).run_now
    assert not queue.admit(s, "b", kw("b", s), LEASE, seq=2).run_now
    assert runs(queue.admit(s, "a", kw("a", s), LEASE, seq=1))
    assert queue.release(s, "a", LEASE) == kw("b", s)
    assert runs(queue.admit(s, "b", kw("b", s), LEASE, seq=2))
    assert queue.release(s, "b", LEASE) == kw("c", s)


def test_a_job_whose_predecessor_has_not_arrived_is_held_and_nothing_is_stored(queue: SessionQueuePort, s: str) -> None:
    queue.arrived(s, "b", 2)
    held = queue.admit(s, "b", kw("b", s), LEASE, seq=2)
    assert held.held
    assert not held.run_now
    assert held.promoted is None
    queue.arrived(s, "a", 1)
    assert runs(queue.admit(s, "a", kw("a", s), LEASE, seq=1))
    assert queue.release(s, "a", LEASE) is None  # b was held, not queued: it asks again itself
    assert runs(queue.admit(s, "b", kw("b", s), LEASE, seq=2))
    queue.release(s, "b", LEASE)
    assert runs(queue.admit(s, "c", kw("c", s), LEASE, seq=3))  # 3 follows 2: no hold


def test_a_gap_in_the_numbering_holds_only_while_the_caller_holds(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE, seq=1))
    queue.release(s, "a", LEASE)
    assert queue.admit(s, "e", kw("e", s), LEASE, seq=5).held  # 2-4 never sent
    assert runs(queue.admit(s, "e", kw("e", s), LEASE, seq=5, hold=False))


def test_a_first_job_with_seq_one_is_never_held(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE, seq=1))


# -- forget -------------------------------------------------------------------------------------------------
def test_a_job_that_will_never_run_is_forgotten_and_the_next_one_gets_the_session(
    queue: SessionQueuePort, s: str
) -> None:
    queue.arrived(s, "ended")  # a redelivered message of a job that had already ended
    queue.arrived(s, "b")
    assert not queue.admit(s, "b", kw("b", s), LEASE).run_now
    assert queue.forget(s, "ended", LEASE) == kw("b", s)
    assert runs(queue.admit(s, "b", kw("b", s), LEASE))


def test_a_promoted_job_that_will_never_run_passes_the_session_on(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    queue.admit(s, "b", kw("b", s), LEASE)
    queue.admit(s, "c", kw("c", s), LEASE)
    assert queue.release(s, "a", LEASE) == kw("b", s)
    assert queue.forget(s, "b", LEASE) == kw("c", s)  # b was cancelled before its message ran
    assert runs(queue.admit(s, "c", kw("c", s), LEASE))


def test_forgetting_a_waiting_job_while_another_runs_hands_nothing_on(queue: SessionQueuePort, s: str) -> None:
    assert runs(queue.admit(s, "a", kw("a", s), LEASE))
    queue.admit(s, "b", kw("b", s), LEASE)
    queue.admit(s, "c", kw("c", s), LEASE)
    assert queue.forget(s, "b", LEASE) is None  # a still holds the session
    assert queue.release(s, "a", LEASE) == kw("c", s)  # b left the order


def test_a_numbered_job_that_will_never_run_does_not_hold_the_next_number(queue: SessionQueuePort, s: str) -> None:
    queue.arrived(s, "a", 1)
    queue.forget(s, "a", LEASE)  # cancelled before any worker took it
    assert runs(queue.admit(s, "b", kw("b", s), LEASE, seq=2))
