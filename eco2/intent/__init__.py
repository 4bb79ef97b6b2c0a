"""Intent classification for chat messages.

The offline classifier needs no API key: it trains at start-up on the bundled Korean examples in
``eco2/data/intent/train.jsonl``. ``evaluate`` measures any classifier against labelled examples.
See docs/intent.md for how it works and how well.
"""

from __future__ import annotations

from eco2.intent.dataset import DatasetError, LabelledExample, load_examples, parse_examples
from eco2.intent.evaluate import (
    EvalReport,
    IntentMetrics,
    Misclassified,
    cross_validate,
    evaluate,
    format_report,
)
from eco2.intent.offline import PROVIDER, OfflineIntentClassifier

__all__ = [
    "PROVIDER",
    "DatasetError",
    "EvalReport",
    "IntentMetrics",
    "LabelledExample",
    "Misclassified",
    "OfflineIntentClassifier",
    "cross_validate",
    "evaluate",
    "format_report",
    "load_examples",
    "parse_examples",
]
