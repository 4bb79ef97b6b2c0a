"""Offline evaluation of a :class:`WasteRetriever` against a labelled question set.

Shared by ``bench/eval_rag.py`` (prints the numbers) and the unit tests (fail when they drop below the
target), so the two can never disagree about what hit@1 means. The question file format is described in
``tests/data/waste_rag_eval.yaml``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from eco2.rag._text import normalize
from eco2.rag.corpus import WasteItem
from eco2.rag.retriever import Retrieval, WasteRetriever

__all__ = ["EvalQuestion", "EvalReport", "Outcome", "evaluate", "is_paraphrase", "load_questions"]


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One labelled question: either the ids that answer it, or out of scope (must come back weak)."""

    text: str
    """The question as a user would type it."""
    expected: tuple[str, ...]
    """Acceptable item ids, the labelled one first; empty for an out-of-scope question."""

    @property
    def out_of_scope(self) -> bool:
        """True for questions no item answers."""
        return not self.expected


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question with what the retriever returned for it."""

    question: EvalQuestion
    """The labelled question."""
    retrieval: Retrieval
    """What the retriever returned for it."""


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Aggregate numbers of one evaluation run."""

    in_scope: int
    """Number of in-scope questions."""
    out_of_scope: int
    """Number of out-of-scope questions."""
    hit_at_1: float
    """Share of in-scope questions whose top hit is acceptable."""
    hit_at_3: float
    """Share of in-scope questions with an acceptable item among the top three."""
    weak_precision: float
    """Of the questions flagged weak, the share that is out of scope."""
    weak_recall: float
    """Of the out-of-scope questions, the share flagged weak."""
    mean_latency_ms: float
    """Mean wall time of one ``search`` call."""
    paraphrase_share: float
    """Share of in-scope questions that contain none of their item's names or aliases verbatim."""
    paraphrase_hit_at_1: float
    """hit@1 on those paraphrased questions alone (the hard part of the set)."""
    misses: tuple[Outcome, ...]
    """In-scope questions missed at rank 1."""
    weak_errors: tuple[Outcome, ...]
    """Questions whose weak flag is wrong (in-scope flagged weak, or out-of-scope not flagged)."""
    results: tuple[Outcome, ...]
    """Every question with its retrieval, in file order (for further analysis)."""


def load_questions(path: Path) -> tuple[EvalQuestion, ...]:
    """Read the question file; each entry has ``q`` and either ``id`` (with optional ``also``) or ``weak``."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions: list[EvalQuestion] = []
    for number, entry in enumerate(document["questions"], start=1):
        keys = set(entry)
        if keys == {"q", "weak"} and entry["weak"] is True:
            questions.append(EvalQuestion(text=entry["q"], expected=()))
        elif keys in ({"q", "id"}, {"q", "id", "also"}):
            questions.append(EvalQuestion(text=entry["q"], expected=(entry["id"], *entry.get("also", ()))))
        else:
            raise ValueError(f"{path.name}: question #{number} must have q and either id (+also) or weak: true")
    return tuple(questions)


def is_paraphrase(question: EvalQuestion, item: WasteItem) -> bool:
    """True when the question uses none of the item's names or aliases verbatim (ignoring spaces)."""
    text = normalize(question.text).replace(" ", "")
    return not any(normalize(name).replace(" ", "") in text for name in (item.name, *item.aliases))


def evaluate(retriever: WasteRetriever, questions: Sequence[EvalQuestion]) -> EvalReport:
    """Run every question through ``retriever`` (top 3) and score the results."""
    by_id = {item.id: item for item in retriever.items}
    unknown = sorted({i for q in questions for i in q.expected} - by_id.keys())
    if unknown:
        raise ValueError(f"eval questions refer to unknown item ids: {', '.join(unknown)}")
    outcomes: list[Outcome] = []
    elapsed = 0.0
    for question in questions:
        started = time.perf_counter()
        result = retriever.search(question.text, k=3)
        elapsed += time.perf_counter() - started
        outcomes.append(Outcome(question, result))

    answerable = [o for o in outcomes if not o.question.out_of_scope]
    flagged = [o for o in outcomes if o.retrieval.weak]
    flagged_right = sum(1 for o in flagged if o.question.out_of_scope)
    out_of_scope = len(outcomes) - len(answerable)

    def ids(outcome: Outcome) -> list[str]:
        return [hit.item.id for hit in outcome.retrieval.hits]

    def share(count: float, total: int, empty: float = 0.0) -> float:
        return count / total if total else empty

    misses = tuple(o for o in answerable if ids(o)[:1] == [] or ids(o)[0] not in o.question.expected)
    paraphrased = [o for o in answerable if is_paraphrase(o.question, by_id[o.question.expected[0]])]
    return EvalReport(
        in_scope=len(answerable),
        out_of_scope=out_of_scope,
        hit_at_1=share(len(answerable) - len(misses), len(answerable)),
        hit_at_3=share(sum(any(i in o.question.expected for i in ids(o)) for o in answerable), len(answerable)),
        weak_precision=share(flagged_right, len(flagged), empty=1.0),
        weak_recall=share(flagged_right, out_of_scope, empty=1.0),
        mean_latency_ms=share(1000 * elapsed, len(outcomes)),
        paraphrase_share=share(len(paraphrased), len(answerable)),
        paraphrase_hit_at_1=share(sum(o not in misses for o in paraphrased), len(paraphrased)),
        misses=misses,
        weak_errors=tuple(o for o in outcomes if o.retrieval.weak != o.question.out_of_scope),
        results=tuple(outcomes),
    )
