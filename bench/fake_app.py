"""Celery app module for benchmarks: the real eco2 app with instant fake subagents and LLM, plus the
raw-Celery baseline tasks measured in the same run.

Start with ``celery -A bench.fake_app worker`` (PYTHONPATH = repository root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from celery import chord
from celery.exceptions import SoftTimeLimitExceeded

from eco2.bootstrap import Container, bootstrap
from eco2.domain.intents import Intent, IntentResult, IntentScore
from eco2.domain.registry import REGISTRY
from eco2.domain.subagents import ResultStatus, SubagentQuery, SubagentResult
from eco2.ports.llm import AnswerInput
from tasks import app, runtime

__all__ = ["app"]

BENCH_INTENTS = (Intent.WASTE, Intent.BULK_WASTE, Intent.CHARACTER)  # fan-out: 4 subagents
ANSWER_PIECES = 40


class InstantClassifier:
    """Always the same intents: a fixed fan-out width."""

    provider = "bench"

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        return IntentResult(tuple(IntentScore(i, 0.9) for i in BENCH_INTENTS), provider=self.provider)


class InstantSubagent:
    """Answers at once."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, query: SubagentQuery) -> SubagentResult:
        return SubagentResult(self.name, ResultStatus.OK, summary="ok")


class InstantWriter:
    """A 40-token answer with no model latency."""

    provider = "bench"

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        for n in range(ANSWER_PIECES):
            yield f"토큰{n} "


def _factory() -> Container:
    return bootstrap(
        scheduling=lambda _runner: runtime.celery_scheduling(),
        timeout_errors=(SoftTimeLimitExceeded,),
        classifier=InstantClassifier(),
        writer=InstantWriter(),
        subagents={spec.name: InstantSubagent(spec.name) for spec in REGISTRY},
    )


runtime.set_factory(_factory)

_redis: redis.Redis | None = None


def _client() -> redis.Redis:
    global _redis  # noqa: PLW0603
    if _redis is None:
        _redis = redis.Redis.from_url(os.environ["ECO2_REDIS_URL"])
    return _redis


@app.task(name="bench.noop", queue="eco2.io")
def noop(**kwargs: Any) -> dict[str, str]:
    """A subagent-shaped task that does nothing (but note when it ran, for timelines)."""
    if kwargs.get("job_id"):
        _client().xadd(f"bench:raw:{kwargs['job_id']}", {"type": "noop"})
    return {"status": "ok"}


@app.task(name="bench.count", queue="eco2.chat")
def count() -> None:
    """A no-op task that only counts itself (raw throughput baseline)."""
    _client().incr("bench:count")


@app.task(name="bench.raw_done", queue="eco2.chat")
def raw_done(results: list[dict[str, str]], *, job_id: str) -> None:
    """Chord callback of the baseline: one stream entry, like a chat's terminal event."""
    _client().xadd(f"bench:raw:{job_id}", {"type": "done", "n": str(len(results))})


@app.task(name="bench.raw_start", queue="eco2.chat")
def raw_start(*, job_id: str, width: int, trace: bool = False) -> None:
    """Entry task of the baseline: fan out ``width`` no-ops as a chord, like the orchestrator."""
    header = [noop.s(i=i, job_id=job_id if trace else "").set(queue="eco2.io") for i in range(width)]
    chord(header)(raw_done.s(job_id=job_id).set(queue="eco2.chat"))
