"""The one place that declares every subagent: name, queue, timeouts, retries, fail mode, fallback.

Task names, Celery routes, time limits, retry policy, the queues a worker consumes and metric label values
all derive from this tuple, so adding a subagent is one module plus one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eco2.domain.subagents import FailMode


class Queue(StrEnum):
    """Celery queues by kind of work; each can be served by its own worker pool."""

    CHAT = "eco2.chat"
    """Orchestration: the public entry task, graph steps and the streamed answer."""
    IO = "eco2.io"
    """I/O-bound subagents (HTTP APIs, gRPC, LLM calls): many threads or high concurrency."""
    CPU = "eco2.cpu"
    """CPU-bound subagents (retrieval): one process per core."""


ALL_QUEUES: tuple[Queue, ...] = tuple(Queue)


@dataclass(frozen=True, slots=True)
class SubagentSpec:
    """How one subagent runs."""

    name: str
    queue: Queue
    timeout_s: int
    """Soft time limit in seconds; the hard limit adds ``HARD_LIMIT_GRACE_S``."""
    max_retries: int
    """Retries for retryable failures only, with exponential backoff and jitter."""
    fail_mode: FailMode
    description: str
    fallback: str | None = None
    """Next subagent of the fallback chain when this one fails or is weak (fail mode ``fallback``)."""
    retry_backoff_s: float = 0.5
    """First backoff; doubled per retry, jittered, capped at ``timeout_s``."""
    upstreams: tuple[str, ...] = ()
    """Circuit breakers (one per upstream) this subagent's calls go through; ``eco2 doctor`` shows them."""

    @property
    def task_name(self) -> str:
        """The Celery task name of this subagent."""
        return f"eco2.subagent.{self.name}"

    @property
    def hard_timeout_s(self) -> int:
        """Hard time limit (the process is killed): soft limit plus grace."""
        return self.timeout_s + HARD_LIMIT_GRACE_S


HARD_LIMIT_GRACE_S = 5

REGISTRY: tuple[SubagentSpec, ...] = (
    SubagentSpec(
        "vision",
        Queue.IO,
        20,
        1,
        FailMode.OPEN,
        "이미지 속 폐기물 품목 인식 (OpenAI vision)",
        upstreams=("openai_vision",),
    ),
    SubagentSpec("waste_rag", Queue.CPU, 5, 0, FailMode.FALLBACK, "분리배출 규칙 검색 (BM25)", fallback="web_search"),
    SubagentSpec("weather", Queue.IO, 12, 2, FailMode.OPEN, "기상청 단기예보", upstreams=("kma",)),
    SubagentSpec(
        "bulk_waste",
        Queue.IO,
        8,
        2,
        FailMode.FALLBACK,
        "대형폐기물 (행정안전부 API)",
        fallback="waste_rag",
        upstreams=("mois", "kakao"),
    ),
    SubagentSpec("character", Queue.IO, 3, 2, FailMode.OPEN, "캐릭터 정보 (gRPC)", upstreams=("character",)),
    SubagentSpec("location", Queue.IO, 12, 2, FailMode.OPEN, "장소 검색 (카카오 로컬)", upstreams=("kakao",)),
    SubagentSpec(
        "web_search",
        Queue.IO,
        30,
        1,
        FailMode.FALLBACK,
        "웹 검색 (DuckDuckGo / OpenAI)",
        fallback="general",
        upstreams=("openai_web_search", "ddgs"),
    ),
    SubagentSpec(
        "collection_point",
        Queue.IO,
        10,
        2,
        FailMode.OPEN,
        "폐기물 수거함 위치 (한국환경공단)",
        upstreams=("odcloud", "kakao"),
    ),
    SubagentSpec("recyclable_price", Queue.CPU, 3, 0, FailMode.OPEN, "재활용품 시세 (한국환경공단)"),
    SubagentSpec(
        "image_generation", Queue.IO, 90, 1, FailMode.OPEN, "이미지 생성 (OpenAI)", upstreams=("openai_images",)
    ),
    SubagentSpec("general", Queue.IO, 20, 1, FailMode.OPEN, "일반 대화 지식"),
)

_BY_NAME = {spec.name: spec for spec in REGISTRY}


def spec_for(name: str) -> SubagentSpec:
    """The declaration of ``name``; ``KeyError`` for unknown names (a programming error)."""
    return _BY_NAME[name]


def users_of(upstream: str) -> tuple[str, ...]:
    """The subagents whose calls go through ``upstream``'s breaker."""
    return tuple(spec.name for spec in REGISTRY if upstream in spec.upstreams)


def subagent_names() -> tuple[str, ...]:
    """All declared subagent names (the closed set of the ``subagent`` metric label)."""
    return tuple(_BY_NAME)
