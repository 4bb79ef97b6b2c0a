"""Word-level evidence: how well one item explains each content word of a question.

BM25 works on n-gram tokens, so it can prefer an item that matches many grams of one common word
(플라스틱) over one that matches a rare word exactly (분유). Counting per *word* fixes both ranking and
confidence:

* a word's *units* are its Hangul bigrams (or the syllable itself, or an ASCII run), see ``grams``;
* an item *supports* a word by the share of the word's units found in the item's names and aliases, or
  ``BODY_SUPPORT`` times the share found only in its steps, cautions and bin;
* for ranking, words are weighted by the IDF of their rarest unit, so rare words decide;
* for quality, words are weighted by how much they look like the name of a thing at all (the share of
  their units that occur in *some* item's names), and words the corpus never uses count against it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from eco2.rag._text import grams

__all__ = ["WordCoverage"]

BODY_SUPPORT = 0.5
"""A word found only in an item's instructions explains it half as well as one in its names."""
SYLLABLE_WORD = 0.5
"""A one-syllable word (뼈, 약) is weaker evidence of a thing than a longer word."""
UNKNOWN_PENALTY = 0.5
"""How much a word the corpus never uses (날씨, 추천) counts against the match."""


@dataclass(frozen=True, slots=True)
class _Units:
    key: frozenset[str]
    body: frozenset[str]


def _units(texts: Sequence[Sequence[str]]) -> frozenset[str]:
    # Single syllables are included so that one-syllable query words (뼈, 약, 옷) can be supported.
    words = [word for text in texts for word in text]
    return frozenset().union(*(grams(word) for word in words), *(set(word) for word in words))


class WordCoverage:
    """Per-item unit sets and corpus statistics; each argument holds, per item, its texts as word lists."""

    __slots__ = ("_idf", "_items", "_key_vocabulary", "_key_words", "_vocabulary")

    def __init__(
        self, key_texts: Sequence[Sequence[Sequence[str]]], body_texts: Sequence[Sequence[Sequence[str]]]
    ) -> None:
        self._items = tuple(
            _Units(key=_units(key), body=_units(body)) for key, body in zip(key_texts, body_texts, strict=True)
        )
        self._key_vocabulary = frozenset().union(*(item.key for item in self._items))
        self._vocabulary = self._key_vocabulary.union(*(item.body for item in self._items))
        self._key_words = frozenset(word for texts in key_texts for text in texts for word in text)
        size = len(self._items)
        frequency = Counter(unit for item in self._items for unit in item.key | item.body)
        self._idf = {unit: math.log(1 + (size - df + 0.5) / (df + 0.5)) for unit, df in frequency.items()}

    def coverage(self, words: Sequence[str], candidates: Sequence[int]) -> list[float]:
        """IDF-weighted share of ``words`` each candidate explains, in [0, 1], in candidate order."""
        units = [grams(word) for word in words]
        weights = [max((self._idf.get(unit, 0.0) for unit in group), default=0.0) for group in units]
        total = sum(weights) or 1.0
        return [
            sum(w * _support(group, self._items[i]) for group, w in zip(units, weights, strict=True)) / total
            for i in candidates
        ]

    def quality(self, words: Sequence[str], item: int) -> float:
        """Share of the thing-like words of the question that ``item`` explains, in [0, 1]."""
        explained = 0.0
        weight = 0.0
        for word in words:
            units = grams(word)
            if len(word) == 1:
                # A lone syllable names a thing only if some name uses it as a word (뼈, 약, 옷), not
                # merely inside one (와 in 와인, 비 in 비닐).
                thingness = SYLLABLE_WORD if word in self._key_words else 0.0
            else:
                thingness = len(units & self._key_vocabulary) / len(units)
            unknown = 1.0 - len(units & self._vocabulary) / len(units)
            explained += thingness * _support(units, self._items[item])
            weight += thingness + UNKNOWN_PENALTY * unknown
        return explained / weight if weight else 0.0


def _support(units: frozenset[str], item: _Units) -> float:
    in_key = len(units & item.key) / len(units)
    in_body = len(units & item.body) / len(units)
    return max(in_key, BODY_SUPPORT * in_body)
