"""The offline intent classifier: works without an API key, trains at start-up in a fraction of a second.

It layers three cheap signals, each covering a weakness of the others:

1. :class:`~eco2.intent._model.CharNgramModel` scores the whole message (robust to spacing and typos).
2. A keyword :class:`~eco2.intent._lexicon.Lexicon` nudges the scores toward intents named outright
   ("수거함", "시세", "날씨"), which matters for wordings the training set never saw.
3. The message is split into clauses; a clause that confidently asks for something else adds a secondary
   intent ("페트병 버리는 법이랑 오늘 날씨" → waste, weather), and the request mentioned first is the
   primary one, because bag-of-n-grams scores cannot see order.

Greetings in front of a question ("안녕하세요~ 부탄가스는 어떻게 버려요?") are dropped before scoring, and
short follow-ups ("그럼 캔은?", "거기 몇 시까지 해?"), which carry no topic of their own, have their scores
blended with those of the user's previous message.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

import numpy as np
import numpy.typing as npt

from eco2.domain.intents import Intent, IntentResult, IntentScore
from eco2.intent._lexicon import DEFAULT_LEXICON, Lexicon
from eco2.intent._model import CharNgramModel
from eco2.intent._text import compact, is_follow_up, normalize, split_clauses, strip_courtesy
from eco2.intent.dataset import LabelledExample, parse_examples

__all__ = ["PROVIDER", "OfflineIntentClassifier"]

PROVIDER = "offline"
"""``IntentResult.provider`` of this classifier (a metric label)."""

_EMPTY_CONFIDENCE = 0.1
_LEXICON_BONUS = 0.2
"""Probability mass added to each intent whose keywords appear, before renormalising."""
_CLAUSE_MIN = 0.55
"""A clause names an intent of its own only when the model is at least this sure about it."""
_SECONDARY_KEYWORDLESS_MIN = 0.8
"""Without a keyword of the intent in the clause, a secondary intent needs this much confidence."""
_ORDER_MIN = 0.15
"""The first clause's intent becomes primary only if the whole message gives it at least this much."""
_REQUEST_MIN_CHARS = 4
"""A clause shorter than this (without spaces) that is not the last one is a list item, not a request."""
_MAX_INTENTS = 3
_HISTORY_WEIGHT = 0.6
"""Share of a follow-up's scores taken from the previous message's topic."""
_HISTORY_LOOKBACK = 3
"""How many earlier messages to search for a topic (skipping greetings and thanks)."""
_HISTORY_REACH = _HISTORY_LOOKBACK * _HISTORY_LOOKBACK
"""How far back the follow-up recursion can reach: ``_HISTORY_LOOKBACK`` messages per level, as many levels."""
_SWITCH_MIN = 0.6
"""A follow-up that names its own intent by keyword this confidently starts a new topic."""
_UNSURE = 0.4
"""In a conversation, a message the model is this unsure about leans on the previous topic."""
_SHORT = (6, 0.5)
"""A message this short (characters without spaces) and this unsure is treated as a follow-up."""


class OfflineIntentClassifier:
    """Classify a Korean chat message into the ten intents of :class:`~eco2.domain.intents.Intent`.

    ``lexicon`` maps intents to keyword phrases (see :mod:`eco2.intent._lexicon` for the ``^`` syntax);
    ``None`` means the bundled :data:`~eco2.intent._lexicon.DEFAULT_LEXICON`, ``{}`` means none.
    """

    def __init__(
        self,
        examples: Sequence[LabelledExample],
        lexicon: Mapping[Intent, Iterable[str]] | None = None,
    ) -> None:
        if not examples:
            raise ValueError("OfflineIntentClassifier needs at least one training example")
        self._lexicon = Lexicon(DEFAULT_LEXICON if lexicon is None else lexicon)
        self._model = CharNgramModel([normalize(e.text) for e in examples], [e.intent for e in examples], self._lexicon)
        self._intents = self._model.intents
        self._general = self._intents.index(Intent.GENERAL) if Intent.GENERAL in self._intents else None

    @classmethod
    def default(cls) -> OfflineIntentClassifier:
        """The classifier trained on the bundled ``eco2/data/intent/train.jsonl``, built once per process."""
        return _bundled()

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        """Intents of ``message``, primary first (at most three); ``history`` is newest last.

        Never raises on a string: an empty or unreadable message is ``general`` with low confidence.
        """
        text = normalize(message)
        if not text:
            return IntentResult((IntentScore(Intent.GENERAL, _EMPTY_CONFIDENCE),), provider=PROVIDER)
        core = strip_courtesy(text)
        clauses = split_clauses(core)
        parts = clauses if len(clauses) > 1 else []
        # Every text the classification may need, scored in one model call: the call's fixed cost
        # dominates, and the history a follow-up reaches back to is at most _HISTORY_REACH messages.
        recent = [normalize(earlier) for earlier in history[-_HISTORY_REACH:]]
        texts = list(dict.fromkeys([text, core, *parts, *(earlier for earlier in recent if earlier)]))
        scored = dict(zip(texts, self._scores(texts), strict=True))
        whole = scored[text]
        if core != text and self._intents[int(np.argmax(scored[core]))] is not Intent.GENERAL:
            whole = scored[core]  # "안녕하세요~ 부탄가스는 어떻게 버려요?" is about the gas can, not a greeting
        whole = self._with_history(core, whole, recent, scored, depth=0)
        part_rows = np.array([scored[part] for part in parts]).reshape(len(parts), len(self._intents))
        ranked = self._assemble(whole, clauses, part_rows, self._lexicon_hits(clauses))
        return IntentResult(
            tuple(IntentScore(intent, round(float(conf), 4)) for intent, conf in ranked), provider=PROVIDER
        )

    def _scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Model probabilities plus the lexicon bonus, renormalised; one row per text."""
        probs = self._model.probabilities(texts)
        for row, text in enumerate(texts):
            for intent in self._lexicon.hits(text):
                if intent in self._intents:
                    probs[row, self._intents.index(intent)] += _LEXICON_BONUS
        result: npt.NDArray[np.float64] = probs / probs.sum(axis=1, keepdims=True)
        return result

    def _lexicon_hits(self, clauses: Sequence[str]) -> list[frozenset[Intent]]:
        return [self._lexicon.hits(clause) for clause in clauses]

    def _with_history(
        self,
        text: str,
        scores: npt.NDArray[np.float64],
        history: Sequence[str],
        scored: Mapping[str, npt.NDArray[np.float64]],
        depth: int,
    ) -> npt.NDArray[np.float64]:
        """Blend a follow-up's scores with the topic of the previous messages (recursively, bounded).

        ``history`` is normalised, newest last; ``scored`` holds the scores of each of its texts.
        """
        if not history or depth >= _HISTORY_LOOKBACK or not self._is_follow_up(text, scores):
            return scores
        for back in range(1, min(len(history), _HISTORY_LOOKBACK) + 1):
            earlier = history[-back]
            if not earlier:
                continue
            topic = self._with_history(earlier, scored[earlier], history[:-back], scored, depth + 1)
            if int(np.argmax(topic)) != self._general:
                blended: npt.NDArray[np.float64] = (1 - _HISTORY_WEIGHT) * scores + _HISTORY_WEIGHT * topic
                return blended
        return scores

    def _is_follow_up(self, text: str, scores: npt.NDArray[np.float64]) -> bool:
        top = self._intents[int(np.argmax(scores))]
        confidence = float(scores.max())
        hits = self._lexicon.hits(text)
        if Intent.GENERAL in hits or (top in hits and confidence >= _SWITCH_MIN):
            return False  # thanks/greeting, or a new topic named outright ("그럼 내일 날씨는?")
        length, short_unsure = _SHORT
        return (
            is_follow_up(text) or confidence < _UNSURE or (len(compact(text)) <= length and confidence < short_unsure)
        )

    def _assemble(
        self,
        whole: npt.NDArray[np.float64],
        clauses: Sequence[str],
        clause_scores: npt.NDArray[np.float64],
        clause_hits: Sequence[frozenset[Intent]],
    ) -> list[tuple[Intent, float]]:
        """Primary intent from the whole message (or its first request), secondaries from other clauses."""
        requests = self._requests(clauses, clause_scores, clause_hits)
        primary = self._intents[int(np.argmax(whole))]
        confidence = float(whole.max())
        if requests and primary is Intent.GENERAL:
            # "고마워! 그럼 캔은 어떻게 버려?": the politeness is not what the message is about
            primary, confidence = requests[0]
        elif len(requests) > 1 and requests[0][0] is not primary:
            first, first_confidence = requests[0]
            if whole[self._intents.index(first)] >= _ORDER_MIN:
                primary, confidence = first, first_confidence
        ranked = [(primary, confidence)]
        ranked += [(intent, conf) for intent, conf in requests if intent is not primary]
        return ranked[:_MAX_INTENTS]

    def _requests(
        self,
        clauses: Sequence[str],
        clause_scores: npt.NDArray[np.float64],
        clause_hits: Sequence[frozenset[Intent]],
    ) -> list[tuple[Intent, float]]:
        """Distinct non-general intents that single clauses confidently ask for, in order of mention.

        A short clause before another one is a list item ("이코랑 페티 그림 그려줘"), not a request of its
        own; a short last clause still is ("페트병 버리는 법이랑 날씨").
        """
        if len(clauses) < 2:
            return []
        found: list[tuple[Intent, float]] = []
        last = len(clauses) - 1
        for index, (clause, scores, hits) in enumerate(zip(clauses, clause_scores, clause_hits, strict=True)):
            if index < last and len(compact(clause)) < _REQUEST_MIN_CHARS:
                continue
            best = self._intents[int(np.argmax(scores))]
            conf = float(scores.max())
            confident = conf >= _CLAUSE_MIN and (best in hits or conf >= _SECONDARY_KEYWORDLESS_MIN)
            if best is not Intent.GENERAL and confident and best not in {i for i, _ in found}:
                found.append((best, conf))
        return found


_LOCK = threading.Lock()


def _bundled() -> OfflineIntentClassifier:
    with _LOCK:  # the cache alone would let two threads racing on the first call both build
        return _build_bundled()


@functools.cache
def _build_bundled() -> OfflineIntentClassifier:
    data = resources.files("eco2").joinpath("data", "intent", "train.jsonl")
    examples = parse_examples(data.read_text(encoding="utf-8").splitlines(), source=str(data))
    return OfflineIntentClassifier(examples)
