"""Evaluate the offline intent classifier on a labelled JSONL file and print the report.

Usage: python bench/eval_intent.py [path]   (default: tests/data/intent_heldout.jsonl)
       python bench/eval_intent.py --cv     (5-fold cross-validation on the bundled training data)

Prints accuracy, per-intent precision/recall, the confusion matrix and every misclassified line.
Exits 0 whatever the accuracy (this reports numbers, it does not gate); 1 if the file is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eco2.intent import OfflineIntentClassifier, cross_validate, evaluate, format_report, load_examples

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "data" / "intent_heldout.jsonl"
TRAIN = ROOT / "eco2" / "data" / "intent" / "train.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT, help="labelled JSONL file")
    parser.add_argument("--cv", action="store_true", help="cross-validate on the training data instead")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    if args.cv:
        examples = load_examples(TRAIN)
        report = cross_validate(examples, OfflineIntentClassifier, folds=args.folds)
        print(f"{args.folds}-fold cross-validation on {TRAIN.relative_to(ROOT)}")
        print(format_report(report))
        return 0

    if not args.path.is_file():
        print(f"no such file: {args.path}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    classifier = OfflineIntentClassifier.default()
    built = time.perf_counter() - started
    examples = load_examples(args.path)
    started = time.perf_counter()
    report = evaluate(classifier, examples)
    per_message = (time.perf_counter() - started) / max(len(examples), 1)
    print(f"{args.path}  (classifier built in {built:.2f} s, {per_message * 1000:.2f} ms per message)")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
