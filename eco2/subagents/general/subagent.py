"""The ``general`` subagent: small talk and general environment knowledge.

Offline it answers from a bundled FAQ (``eco2/data/general_faq.yaml``) by character-bigram similarity;
with an LLM configured the answer writer answers freely and this result only adds grounding.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from math import sqrt

import yaml

from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext

MIN_SIMILARITY = 0.45
"""Below this, a match is carried by shared endings ("…만드는 법 알려줘"), not by what the question is about."""
OUT_OF_SCOPE = (
    "그 이야기는 제가 잘 도와드리기 어려워요. 저는 분리배출 도우미 이코라서 이런 걸 알려드릴 수 있어요: "
    "품목별 버리는 방법, 대형폐기물 신고와 수수료, 폐건전지·폐휴대폰 수거함 위치, 재활용품 시세, 날씨."
)
"""The reply to a message that is neither eco2's business nor in the FAQ: short, and says what eco2 does."""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ answer with the phrasings that lead to it."""

    id: str
    questions: tuple[str, ...]
    answer: str


def _bigrams(text: str) -> Counter[str]:
    norm = "".join(unicodedata.normalize("NFKC", text).lower().split())
    if len(norm) < 2:
        return Counter([norm]) if norm else Counter()
    return Counter(norm[i : i + 2] for i in range(len(norm) - 1))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[gram] for gram, count in a.items())
    norm = sqrt(sum(v * v for v in a.values())) * sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


@lru_cache(maxsize=1)
def load_faq() -> tuple[FaqEntry, ...]:
    """The bundled FAQ, parsed once per process."""
    text = resources.files("eco2.data").joinpath("general_faq.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return tuple(
        FaqEntry(str(e["id"]), tuple(str(q) for q in e["questions"]), str(e["answer"])) for e in raw["entries"]
    )


class FaqGeneral:
    """Implements ``SubagentPort`` for ``general`` from the FAQ."""

    def __init__(self, entries: tuple[FaqEntry, ...] | None = None) -> None:
        self._entries = entries if entries is not None else load_faq()
        self._vectors = [(e, [_bigrams(q) for q in e.questions]) for e in self._entries]

    def best(self, message: str) -> tuple[FaqEntry | None, float]:
        """The closest FAQ entry and its similarity."""
        query = _bigrams(message)
        best: tuple[FaqEntry | None, float] = (None, 0.0)
        for entry, vectors in self._vectors:
            score = max(_cosine(query, v) for v in vectors)
            if score > best[1]:
                best = (entry, score)
        return best

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Answer from the FAQ, or say that nothing matched (EMPTY).

        When the message itself is small talk or out of scope (``general`` is its primary intent), "nothing
        matched" still gets a fitting reply: what eco2 can help with. As the last step of a fallback chain
        (an item the retriever did not know) it stays silent, and the answer asks for a clearer item.
        """
        entry, score = self.best(query.message)
        if entry is None or score < MIN_SIMILARITY:
            own = bool(query.intents) and query.intents[0] == "general"
            return SubagentResult(
                "general",
                ResultStatus.EMPTY,
                summary=OUT_OF_SCOPE if own else "",
                data={"similarity": round(score, 3), "reply": "out_of_scope" if own else ""},
            )
        return SubagentResult(
            "general",
            ResultStatus.OK,
            summary=entry.answer,
            data={"faq_id": entry.id, "similarity": round(score, 3)},
            sources=(Source("이코에코 안내"),),
        )


def build(ctx: SubagentContext) -> SubagentPort:
    """The FAQ: bundled, no key, nothing to configure."""
    del ctx
    return FaqGeneral()
