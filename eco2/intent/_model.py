"""The statistical core: TF-IDF character n-grams plus keyword flags, and a linear SVM.

Character n-grams suit Korean chat: particles glue onto nouns ("페트병은", "페트병이랑"), spacing is
optional and typos change one syllable, and n-grams of 1-4 characters still share most features across
all of those. One extra feature per intent says "the lexicon has a keyword of this intent here"; the SVM
learns how far to trust it, which lets a keyword carry a message whose other words were never seen
("안마의자 버리는 법" is ``bulk_waste`` because 안마의자 is a bulky item, not because of its n-grams).

Fitting the vectoriser and a linear SVM on ~1,400 messages takes about 0.3 s, so the model is fitted at
start-up from the JSONL and never pickled. Its margins become probabilities through a softmax whose
temperature was chosen on cross-validation of the training data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from eco2.domain.intents import ALL_INTENTS, Intent
from eco2.intent._lexicon import Lexicon

__all__ = ["CharNgramModel"]

_TEMPERATURE = 0.35
"""Softmax temperature on SVM margins: margins of about ±1 become confident probabilities, ties stay soft."""
_KEYWORD_WEIGHT = 0.2
"""Value of a keyword flag (TF-IDF rows have unit length); chosen on cross-validation."""
_NGRAMS = (1, 4)
_C = 2.0
"""SVM regularisation; chosen on cross-validation."""


class CharNgramModel:
    """A fitted text classifier over normalised messages that returns a probability per intent."""

    def __init__(self, texts: Sequence[str], labels: Sequence[Intent], lexicon: Lexicon) -> None:
        if len(set(labels)) < 2:
            raise ValueError("training data needs at least two different intents")
        self._lexicon = lexicon
        self._features = FeatureUnion(
            [
                (
                    "ngrams",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=_NGRAMS, sublinear_tf=True),
                ),
                ("keywords", FunctionTransformer(self._keywords)),
            ]
        )
        self._svm = LinearSVC(C=_C)
        self._svm.fit(self._features.fit_transform(list(texts)), [label.value for label in labels])
        self.intents: tuple[Intent, ...] = tuple(Intent(value) for value in self._svm.classes_)
        """Intents in the column order of :meth:`probabilities`."""

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """One row per text, one column per intent of :attr:`intents`; rows sum to 1."""
        features = self._features.transform(list(texts))
        margins = np.asarray(self._svm.decision_function(features), dtype=np.float64)
        if margins.ndim == 1:  # two classes: sklearn returns one margin for the second class
            margins = np.stack([-margins, margins], axis=1)
        scaled = margins / _TEMPERATURE
        scaled -= scaled.max(axis=1, keepdims=True)
        weights = np.exp(scaled)
        result: npt.NDArray[np.float64] = weights / weights.sum(axis=1, keepdims=True)
        return result

    def _keywords(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """One column per intent: ``_KEYWORD_WEIGHT`` where the lexicon has a phrase of it, else 0."""
        flags = np.zeros((len(texts), len(ALL_INTENTS)))
        for row, text in enumerate(texts):
            for intent in self._lexicon.hits(text):
                flags[row, ALL_INTENTS.index(intent)] = _KEYWORD_WEIGHT
        return flags
