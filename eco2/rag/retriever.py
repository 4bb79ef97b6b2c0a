"""Korean keyword retrieval over the waste corpus, with a quality score that says when nothing matched.

Ranking has two stages, both over the analysis of :mod:`eco2.rag._text`:

1. BM25 (:mod:`eco2.rag._bm25`) in two fields, the *key* (name and aliases: what people call the thing)
   and the *body* (steps, cautions, bin, category name: what one does with it), combined as
   ``key + BODY_WEIGHT * body``. It shortlists ``SHORTLIST`` candidates.
2. The shortlist is re-ranked by word coverage (:mod:`eco2.rag._coverage`): the IDF-weighted share of
   the question's words each candidate explains, plus ``BM25_SHARE`` times its BM25 score relative to
   the best candidate. Coverage lets a rare word said exactly (분유) beat many grams of a common one.

BM25 scores are unbounded and grow with query length, so they cannot tell "matched" from "not matched".
``Retrieval.quality`` is the share of the question's thing-like words that the top item explains, with
words the corpus never uses counting against it; ``weak`` is ``quality < weak_threshold``. Measured
precision and recall per threshold are in docs/rag.md.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eco2.rag._bm25 import Bm25Index
from eco2.rag._coverage import WordCoverage
from eco2.rag._text import content_words, document_tokens, query_terms
from eco2.rag.corpus import WasteItem, load_corpus

__all__ = [
    "BM25_SHARE",
    "BODY_WEIGHT",
    "DEFAULT_WEAK_THRESHOLD",
    "SHORTLIST",
    "Retrieval",
    "RetrievalHit",
    "WasteRetriever",
]

BODY_WEIGHT = 0.3
"""How much a BM25 match in the instructions counts relative to one in the name and aliases."""
SHORTLIST = 20
"""How many BM25 candidates are re-ranked by word coverage."""
BM25_SHARE = 0.5
"""Weight of the relative BM25 score next to word coverage (both in [0, 1]) in the final ranking."""
DEFAULT_WEAK_THRESHOLD = 0.3
"""Below this quality a retrieval is weak: no item really matched, do not ground an answer on it."""


@dataclass(frozen=True, slots=True)
class RetrievalHit:
    """One retrieved item and its ranking score (comparable only within one query)."""

    item: WasteItem
    """The matched corpus item."""
    score: float
    """Word coverage (0..1) plus ``BM25_SHARE`` times BM25 relative to the best candidate (0..1)."""


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The result of one search: the best items first, and how far to trust them."""

    query: str
    """The user's text as given."""
    hits: tuple[RetrievalHit, ...]
    """Up to ``k`` items, best first; empty when no word of the query matched anything."""
    quality: float
    """In [0, 1]: the share of the query's thing-like words that the best item accounts for."""
    weak: bool
    """True when ``quality`` is below the retriever's threshold (nothing really matched)."""

    @property
    def best(self) -> WasteItem | None:
        """The top item, or None when nothing matched at all."""
        return self.hits[0].item if self.hits else None


class WasteRetriever:
    """Finds the corpus items a Korean question is about; immutable and safe to share between threads."""

    __slots__ = ("_body", "_coverage", "_items", "_key", "_weak_threshold")

    def __init__(self, items: Sequence[WasteItem], weak_threshold: float = DEFAULT_WEAK_THRESHOLD) -> None:
        if not items:
            raise ValueError("WasteRetriever needs at least one item")
        if not 0.0 <= weak_threshold <= 1.0:
            raise ValueError(f"weak_threshold must be within [0, 1], got {weak_threshold}")
        self._items = tuple(items)
        self._weak_threshold = weak_threshold
        key_texts = [_analyse((item.name, *item.aliases)) for item in self._items]
        body_texts = [_analyse((*item.steps, *item.cautions, item.bin, item.category.name)) for item in items]
        # Names are short and their count varies a lot between items, so they get milder length
        # normalization (b) than the instructions.
        self._key = Bm25Index([_tokens(texts, names=True) for texts in key_texts], b=0.5)
        self._body = Bm25Index([_tokens(texts, names=False) for texts in body_texts])
        self._coverage = WordCoverage(key_texts, body_texts)

    @classmethod
    def default(cls) -> WasteRetriever:
        """The retriever over the bundled corpus, built on first use and then shared by the process."""
        with _DEFAULT_LOCK:
            retriever = _DEFAULTS.get(cls)
            if retriever is None:
                retriever = _DEFAULTS[cls] = cls(load_corpus())
            return retriever

    @property
    def items(self) -> tuple[WasteItem, ...]:
        """The items this retriever searches, in corpus order."""
        return self._items

    @property
    def weak_threshold(self) -> float:
        """Quality below which a retrieval is flagged weak."""
        return self._weak_threshold

    def search(self, query: str, k: int = 3) -> Retrieval:
        """Rank the items for ``query``, best first, and rate how well the best one matches."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        words = content_words(query)
        terms = query_terms(words)
        key_scores = self._key.scores(terms)
        body_scores = self._body.scores(terms)
        combined = [key + BODY_WEIGHT * body for key, body in zip(key_scores, body_scores, strict=True)]
        shortlist = [
            i for i in heapq.nlargest(SHORTLIST, range(len(combined)), key=combined.__getitem__) if combined[i] > 0
        ]
        if not shortlist:
            return Retrieval(query=query, hits=(), quality=0.0, weak=True)
        top = combined[shortlist[0]]
        coverage = self._coverage.coverage(words, shortlist)
        final = {i: share + BM25_SHARE * combined[i] / top for i, share in zip(shortlist, coverage, strict=True)}
        ranked = sorted(shortlist, key=final.__getitem__, reverse=True)[:k]
        quality = round(self._coverage.quality(words, ranked[0]), 4)
        return Retrieval(
            query=query,
            hits=tuple(RetrievalHit(self._items[i], round(final[i], 4)) for i in ranked),
            quality=quality,
            weak=quality < self._weak_threshold,
        )


_DEFAULT_LOCK = threading.Lock()
_DEFAULTS: dict[type[WasteRetriever], WasteRetriever] = {}


def _analyse(texts: Iterable[str]) -> list[list[str]]:
    return [content_words(text) for text in texts]


def _tokens(texts: list[list[str]], *, names: bool) -> list[str]:
    return [token for words in texts for token in document_tokens(words, names=names)]
