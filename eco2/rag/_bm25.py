"""A small in-memory Okapi BM25 index (Lucene variant, the formula ``bm25s`` uses by default).

Why not ``bm25s`` itself: importing it pulls in ``scipy.sparse``, about 0.45 s in every worker process,
while the whole corpus is ~300 short documents. An inverted index of plain dicts builds in a few
milliseconds and scores a query in well under one. ``tests/unit/test_rag_retriever.py`` checks that the
scores equal ``bm25s``'s, so this stays the same formula.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

__all__ = ["Bm25Index"]


class Bm25Index:
    """BM25 scores of a query against a fixed list of tokenized documents.

    score(d, q) = sum over query tokens t of idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl)), with
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)); each query token may carry a weight.
    """

    __slots__ = ("_postings", "size")

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(documents)
        total = sum(len(document) for document in documents)
        average = total / self.size if total else 1.0
        # token -> [(document index, tf / (tf + k1 * length norm))]; idf is applied at query time.
        postings: dict[str, list[tuple[int, float]]] = {}
        for index, document in enumerate(documents):
            norm = k1 * (1 - b + b * len(document) / average)
            for token, tf in Counter(document).items():
                bucket = postings.get(token)
                if bucket is None:
                    postings[token] = [(index, tf / (tf + norm))]
                else:
                    bucket.append((index, tf / (tf + norm)))
        self._postings = postings

    def scores(self, query: Sequence[tuple[str, float]]) -> list[float]:
        """One score per document for weighted query tokens; tokens absent from the index add nothing.

        A weight scales that token's BM25 term; plain BM25 is every weight 1.0.
        """
        totals = [0.0] * self.size
        for token, query_weight in query:
            hits = self._postings.get(token)
            if hits is None:
                continue
            weight = query_weight * self.idf(token)
            for index, part in hits:
                totals[index] += weight * part
        return totals

    def idf(self, token: str) -> float:
        """Inverse document frequency of ``token``, 0.0 if no document contains it."""
        hits = self._postings.get(token)
        if hits is None:
            return 0.0
        return math.log(1 + (self.size - len(hits) + 0.5) / (len(hits) + 0.5))
