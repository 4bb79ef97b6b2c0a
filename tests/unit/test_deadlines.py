"""Job deadlines: scheduled, cancelled and claimed (as a lease) in a Redis sorted set."""

from __future__ import annotations

import time

import pytest
import redis

from eco2.adapters.redis_streams.deadlines import RedisDeadlines
from eco2.ports.dispatch import JobRef

pytestmark = pytest.mark.redis


@pytest.fixture
def deadlines(redis_url: str) -> RedisDeadlines:
    return RedisDeadlines(redis.Redis.from_url(redis_url), prefix="t")


def test_only_overdue_jobs_are_claimed(deadlines: RedisDeadlines) -> None:
    late, early = JobRef("late", "job:late"), JobRef("early", "s1", "00-tp", "s1")
    deadlines.schedule(late, -1)
    deadlines.schedule(early, 60)
    assert deadlines.claim_due() == [late]


def test_a_claim_is_a_lease_not_a_removal(deadlines: RedisDeadlines) -> None:
    job = JobRef("j", "job:j")
    deadlines.schedule(job, -1)
    assert deadlines.claim_due() == [job]
    assert deadlines.claim_due() == []  # leased to the first claimer
    deadlines.cancel(job)
    assert deadlines._client.zcard(deadlines.key) == 0


def test_cancelled_jobs_are_never_claimed(deadlines: RedisDeadlines) -> None:
    job = JobRef("j", "job:j")
    deadlines.schedule(job, 0.05)
    deadlines.cancel(job)
    time.sleep(0.1)
    assert deadlines.claim_due() == []


def test_claims_are_bounded_per_call(deadlines: RedisDeadlines) -> None:
    for n in range(5):
        deadlines.schedule(JobRef(f"j{n}", f"job:j{n}"), -1)
    assert len(deadlines.claim_due(limit=3)) == 3
    assert len(deadlines.claim_due(limit=3)) == 2


def test_a_deadline_handed_to_the_flusher_is_registered_within_moments(deadlines: RedisDeadlines) -> None:
    jobs = [JobRef(f"soon-{n}", f"job:soon-{n}") for n in range(5)]
    for job in jobs:
        deadlines.schedule_soon(job, -1)  # returns at once: the flusher thread writes them together
    deadline = time.monotonic() + 2
    claimed: list[JobRef] = []
    while len(claimed) < len(jobs) and time.monotonic() < deadline:
        claimed += deadlines.claim_due()
        time.sleep(0.01)
    assert sorted(j.job_id for j in claimed) == sorted(j.job_id for j in jobs)
