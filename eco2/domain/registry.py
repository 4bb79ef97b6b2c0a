"""The one place that declares every subagent: everything the rest of eco2 needs to know about it.

Task names, Celery routes, time limits, retry policy, the queues a worker consumes, metric label values,
which intents plan it (the routing map), its label in answers and the factory the catalogue calls all
derive from its entry here, so adding a subagent is its package plus one entry in ``REGISTRY`` (see
docs/architecture.md, "How to add a subagent", which a test keeps true).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from eco2.domain.intents import Intent
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
    """How one subagent runs, what it serves, and how it is built and named."""

    name: str
    queue: Queue
    timeout_s: int
    """Soft time limit in seconds; the hard limit adds ``HARD_LIMIT_GRACE_S``."""
    max_retries: int
    """Retries for retryable failures only, with exponential backoff and jitter."""
    fail_mode: FailMode
    description: str
    label: str = ""
    """Its name in answers ("분리배출 규칙: 찾은 결과가 없어요"); the description when empty."""
    serves: tuple[Intent, ...] = ()
    """Intents whose answer it is: planned for them, and the answer is partial without it."""
    enriches: tuple[Intent, ...] = ()
    """Intents it adds to (weather beside a waste question): planned after the intent's own subagent."""
    factory: str = ""
    """``"module:function"`` building its implementation from a ``SubagentContext``; the catalogue imports
    it when it builds the subagents, so the declaration imports no implementation."""
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

    @property
    def answer_label(self) -> str:
        """The label answers use."""
        return self.label or self.description


HARD_LIMIT_GRACE_S = 5

_W, _B, _C, _L, _WE, _WS, _CP, _RP, _IG, _G = (
    Intent.WASTE,
    Intent.BULK_WASTE,
    Intent.CHARACTER,
    Intent.LOCATION,
    Intent.WEATHER,
    Intent.WEB_SEARCH,
    Intent.COLLECTION_POINT,
    Intent.RECYCLABLE_PRICE,
    Intent.IMAGE_GENERATION,
    Intent.GENERAL,
)

_DECLARED: tuple[SubagentSpec, ...] = (
    SubagentSpec(
        "vision", Queue.IO, 20, 1, FailMode.OPEN, "이미지 속 폐기물 품목 인식 (OpenAI vision)",
        label="사진 속 품목 인식", factory="eco2.subagents.vision:build", upstreams=("openai_vision",),
    ),
    SubagentSpec(
        "waste_rag", Queue.CPU, 5, 0, FailMode.FALLBACK, "분리배출 규칙 검색 (BM25)",
        label="분리배출 규칙", serves=(_W,), factory="eco2.subagents.waste_rag:build", fallback="web_search",
    ),
    SubagentSpec(
        "weather", Queue.IO, 12, 2, FailMode.OPEN, "기상청 단기예보",
        label="날씨", serves=(_WE,), enriches=(_W, _B), factory="eco2.subagents.weather:build", upstreams=("kma",),
    ),
    SubagentSpec(
        "bulk_waste", Queue.IO, 8, 2, FailMode.FALLBACK, "대형폐기물 (행정안전부 API)",
        label="대형폐기물 정보", serves=(_B,), factory="eco2.subagents.bulk_waste:build", fallback="waste_rag",
        upstreams=("mois", "kakao"),
    ),
    SubagentSpec(
        "character", Queue.IO, 3, 2, FailMode.OPEN, "캐릭터 정보 (gRPC)",
        label="캐릭터 정보", serves=(_C,), factory="eco2.subagents.character:build", upstreams=("character",),
    ),
    SubagentSpec(
        "location", Queue.IO, 12, 2, FailMode.OPEN, "장소 검색 (카카오 로컬)",
        label="장소 검색", serves=(_L,), factory="eco2.subagents.location:build", upstreams=("kakao",),
    ),
    SubagentSpec(
        "web_search", Queue.IO, 30, 1, FailMode.FALLBACK, "웹 검색 (DuckDuckGo / OpenAI)",
        label="웹 검색", serves=(_WS,), factory="eco2.subagents.web_search:build", fallback="general",
        upstreams=("openai_web_search", "ddgs"),
    ),
    SubagentSpec(
        "collection_point", Queue.IO, 10, 2, FailMode.OPEN, "폐기물 수거함 위치 (한국환경공단)",
        label="수거함 위치", serves=(_CP,), factory="eco2.subagents.collection_point:build",
        upstreams=("odcloud", "kakao"),
    ),
    SubagentSpec(
        "recyclable_price", Queue.CPU, 3, 0, FailMode.OPEN, "재활용품 시세 (한국환경공단)",
        label="재활용품 시세", serves=(_RP,), factory="eco2.subagents.recyclable_price:build",
    ),
    SubagentSpec(
        "image_generation", Queue.IO, 90, 1, FailMode.OPEN, "이미지 생성 (OpenAI)",
        label="이미지 생성", serves=(_IG,), factory="eco2.subagents.image_generation:build",
        upstreams=("openai_images",),
    ),
    SubagentSpec(
        "general", Queue.IO, 20, 1, FailMode.OPEN, "일반 대화 지식",
        label="일반 안내", serves=(_G,), factory="eco2.subagents.general:build",
    ),
)  # fmt: skip


class Registry:
    """The declared subagents, in order, and every lookup derived from them.

    Lookups read the current entries each time, so :meth:`including` (a test adding a throwaway subagent)
    is seen everywhere at once: routing, the catalogue, the runner, the labels.
    """

    def __init__(self, specs: tuple[SubagentSpec, ...]) -> None:
        self._specs: tuple[SubagentSpec, ...] = ()
        self._by_name: dict[str, SubagentSpec] = {}
        self._load(specs)

    def _load(self, specs: tuple[SubagentSpec, ...]) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"a subagent is declared twice: {names}")
        self._specs, self._by_name = specs, {spec.name: spec for spec in specs}
        # Read for every message (planning, the round's verdict): derived once per set of entries.
        self._own = {intent: tuple(s.name for s in specs if intent in s.serves) for intent in Intent}
        self._serving = {
            intent: (*own, *(s.name for s in specs if intent in s.enriches and s.name not in own))
            for intent, own in self._own.items()
        }

    def __iter__(self) -> Iterator[SubagentSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec_for(self, name: str) -> SubagentSpec:
        """The declaration of ``name``; ``KeyError`` for unknown names (a programming error)."""
        return self._by_name[name]

    def names(self) -> tuple[str, ...]:
        """All declared subagent names (the closed set of the ``subagent`` metric label)."""
        return tuple(self._by_name)

    def declares(self, name: str) -> bool:
        """Whether ``name`` is a declared subagent."""
        return name in self._by_name

    def users_of(self, upstream: str) -> tuple[str, ...]:
        """The subagents whose calls go through ``upstream``'s breaker."""
        return tuple(spec.name for spec in self._specs if upstream in spec.upstreams)

    def serving(self, intent: Intent) -> tuple[str, ...]:
        """The subagents an intent plans: the one whose answer it is, then those that add to it."""
        return self._serving[intent]

    def required_for(self, intent: Intent) -> str:
        """The subagent an intent's answer cannot do without (exactly one serves each intent)."""
        own = self._own[intent]
        if len(own) != 1:
            raise LookupError(f"intent {intent.value} is served by {own or 'no subagent'}; exactly one must serve it")
        return own[0]

    @contextlib.contextmanager
    def including(self, *specs: SubagentSpec) -> Iterator[Registry]:
        """This registry with ``specs`` while the block runs: added, or replacing the entry of their name.

        How a test adds a throwaway subagent, or runs one with another fail mode.
        """
        saved = self._specs
        replaced = {spec.name: spec for spec in specs}
        kept = tuple(replaced.pop(spec.name, spec) for spec in saved)
        self._load(kept + tuple(replaced.values()))
        try:
            yield self
        finally:
            self._load(saved)


REGISTRY = Registry(_DECLARED)
"""The subagents of eco2."""


def spec_for(name: str) -> SubagentSpec:
    """The declaration of ``name``; ``KeyError`` for unknown names (a programming error)."""
    return REGISTRY.spec_for(name)


def users_of(upstream: str) -> tuple[str, ...]:
    """The subagents whose calls go through ``upstream``'s breaker."""
    return REGISTRY.users_of(upstream)


def subagent_names() -> tuple[str, ...]:
    """All declared subagent names (the closed set of the ``subagent`` metric label)."""
    return REGISTRY.names()


def label(name: str) -> str:
    """The label answers use for ``name`` (the name itself for anything undeclared)."""
    try:
        return REGISTRY.spec_for(name).answer_label
    except KeyError:
        return name


__all__ = [
    "ALL_QUEUES", "HARD_LIMIT_GRACE_S", "REGISTRY", "Queue", "Registry", "SubagentSpec", "label", "spec_for",
    "subagent_names", "users_of",
]  # fmt: skip
