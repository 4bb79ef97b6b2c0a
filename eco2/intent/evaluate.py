"""Measure an intent classifier on labelled examples: accuracy, per-intent precision/recall, confusions.

The primary intent decides correctness, because it picks the answer's main subagent; secondary intents
are counted separately (found / missed / extra) so that a change to multi-intent handling shows up
without blurring the headline number. :func:`cross_validate` gives the same report for k-fold
cross-validation, which is how the classifier is tuned without touching the held-out set.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from eco2.domain.intents import Intent, IntentResult
from eco2.intent.dataset import LabelledExample
from eco2.ports.llm import IntentClassifierPort

__all__ = [
    "EvalReport",
    "IntentMetrics",
    "Misclassified",
    "cross_validate",
    "evaluate",
    "format_report",
]


@dataclass(frozen=True, slots=True)
class IntentMetrics:
    """Precision and recall of one intent as the primary intent."""

    precision: float
    """Of the messages predicted as this intent, the share that really are (0 when none predicted)."""
    recall: float
    """Of the messages that are this intent, the share predicted so (0 when there are none)."""
    support: int
    """How many examples have this intent as their primary intent."""
    predicted: int
    """How many examples were predicted with this primary intent."""


@dataclass(frozen=True, slots=True)
class Misclassified:
    """An example whose primary intent was predicted wrongly."""

    example: LabelledExample
    predicted: tuple[Intent, ...]
    """All predicted intents, primary first."""
    confidence: float
    """Confidence of the (wrong) primary prediction."""


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The outcome of :func:`evaluate`."""

    total: int
    correct: int
    per_intent: Mapping[Intent, IntentMetrics]
    confusion: dict[str, dict[str, int]]
    """``confusion[gold][predicted]`` counts of primary intents, every intent present in both levels."""
    misclassified: tuple[Misclassified, ...]
    secondary_expected: int
    """Secondary intents in the labels (``also``)."""
    secondary_found: int
    """Labelled secondary intents that the classifier also returned (in any position)."""
    secondary_extra: int
    """Intents the classifier returned that the labels do not have at all."""

    @property
    def accuracy(self) -> float:
        """Share of examples whose primary intent was right."""
        return self.correct / self.total if self.total else 0.0


def evaluate(classifier: IntentClassifierPort, examples: Sequence[LabelledExample]) -> EvalReport:
    """Classify every example (with its history) and compare with its labels."""
    confusion = {gold.value: dict.fromkeys((i.value for i in Intent), 0) for gold in Intent}
    wrong: list[Misclassified] = []
    expected = found = extra = 0
    for example in examples:
        result = classifier.classify(example.text, example.history)
        predicted = tuple(score.intent for score in result.intents)
        confusion[example.intent.value][result.primary.value] += 1
        if result.primary is not example.intent:
            wrong.append(Misclassified(example, predicted, result.confidence))
        labelled = {example.intent, *example.also}
        expected += len(example.also)
        found += sum(1 for intent in example.also if intent in predicted)
        extra += sum(1 for intent in predicted if intent not in labelled)
    correct = sum(confusion[i.value][i.value] for i in Intent)
    return EvalReport(
        total=len(examples),
        correct=correct,
        per_intent={intent: _metrics(confusion, intent) for intent in Intent},
        confusion=confusion,
        misclassified=tuple(wrong),
        secondary_expected=expected,
        secondary_found=found,
        secondary_extra=extra,
    )


def cross_validate(
    examples: Sequence[LabelledExample],
    build: Callable[[Sequence[LabelledExample]], IntentClassifierPort],
    folds: int = 5,
    seed: int = 0,
) -> EvalReport:
    """Stratified k-fold cross-validation: train ``build`` on k-1 folds, evaluate on the rest, pool all.

    Folds are stratified by primary intent and deterministic for a given ``seed``.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda index: examples[index].intent.value)  # stable: shuffled within each intent
    fold_of = {index: position % folds for position, index in enumerate(order)}
    pooled: list[LabelledExample] = []
    predictions: dict[int, IntentResult] = {}
    for fold in range(folds):
        train = [e for i, e in enumerate(examples) if fold_of[i] != fold]
        classifier = build(train)
        for index in (i for i in range(len(examples)) if fold_of[i] == fold):
            example = examples[index]
            predictions[len(pooled)] = classifier.classify(example.text, example.history)
            pooled.append(example)
    return evaluate(_Replay(pooled, predictions), pooled)


class _Replay:
    """Replays predictions made by the per-fold classifiers so that :func:`evaluate` can pool them."""

    def __init__(self, examples: Sequence[LabelledExample], results: Mapping[int, IntentResult]) -> None:
        self._results = iter(results[i] for i in range(len(examples)))

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        return next(self._results)


def _metrics(confusion: Mapping[str, Mapping[str, int]], intent: Intent) -> IntentMetrics:
    hits = confusion[intent.value][intent.value]
    support = sum(confusion[intent.value].values())
    predicted = sum(row[intent.value] for row in confusion.values())
    return IntentMetrics(
        precision=hits / predicted if predicted else 0.0,
        recall=hits / support if support else 0.0,
        support=support,
        predicted=predicted,
    )


_SHORT = {
    Intent.WASTE: "wst",
    Intent.BULK_WASTE: "blk",
    Intent.CHARACTER: "chr",
    Intent.LOCATION: "loc",
    Intent.WEATHER: "wth",
    Intent.WEB_SEARCH: "web",
    Intent.COLLECTION_POINT: "col",
    Intent.RECYCLABLE_PRICE: "prc",
    Intent.IMAGE_GENERATION: "img",
    Intent.GENERAL: "gen",
}


def format_report(report: EvalReport, errors: bool = True) -> str:
    """A plain-text report: accuracy, per-intent table, confusion matrix and (optionally) the errors."""
    lines = [
        f"examples: {report.total}   primary accuracy: {report.accuracy:.4f} ({report.correct}/{report.total})",
        f"secondary intents: {report.secondary_found}/{report.secondary_expected} found, "
        f"{report.secondary_extra} predicted intents not in the labels",
        "",
        f"{'intent':<18}{'precision':>10}{'recall':>8}{'support':>9}{'predicted':>11}",
    ]
    for intent, m in report.per_intent.items():
        lines.append(f"{intent.value:<18}{m.precision:>10.3f}{m.recall:>8.3f}{m.support:>9}{m.predicted:>11}")
    lines += [
        "",
        "confusion matrix (rows: labelled, columns: predicted)",
        " " * 18 + "".join(f"{_SHORT[i]:>5}" for i in Intent),
    ]
    for gold in Intent:
        row = report.confusion[gold.value]
        lines.append(f"{gold.value:<18}" + "".join(f"{row[p.value] or '.':>5}" for p in Intent))
    if errors and report.misclassified:
        lines += ["", f"misclassified ({len(report.misclassified)}):"]
        for miss in report.misclassified:
            got = ",".join(intent.value for intent in miss.predicted)
            where = f"line {miss.example.line}" if miss.example.line else "-"
            label = miss.example.intent.value
            lines.append(f"  {where:>9}  {label} -> {got} ({miss.confidence:.2f})  {miss.example.text}")
    return "\n".join(lines)
