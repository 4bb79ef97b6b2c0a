"""Evaluate the waste retriever on tests/data/waste_rag_eval.yaml and print the numbers.

Run from the repository root:  python bench/eval_rag.py [--threshold 0.3] [--quiet]
Prints build time, hit@1, hit@3, weak-detection precision/recall, mean search latency, the share of
paraphrased questions, accuracy per quality band, weak precision/recall per threshold, and every miss.
Exits with status 1 when hit@1 is below the target.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from eco2.rag.corpus import load_corpus
from eco2.rag.evaluation import EvalReport, Outcome, evaluate, load_questions
from eco2.rag.retriever import DEFAULT_WEAK_THRESHOLD, WasteRetriever

EVAL_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "waste_rag_eval.yaml"
TARGET_HIT_AT_1 = 0.90
BANDS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01))
SWEEP = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def _describe(outcome: Outcome) -> str:
    result = outcome.retrieval
    got = ", ".join(f"{hit.item.id}({hit.score:.2f})" for hit in result.hits) or "-"
    want = "/".join(outcome.question.expected) or "weak"
    return f"  {outcome.question.text!r}  want={want}  got=[{got}]  quality={result.quality:.2f}"


def _correct(outcome: Outcome) -> bool:
    best = outcome.retrieval.best
    return best is not None and best.id in outcome.question.expected


def _print_bands(report: EvalReport) -> None:
    print("hit@1 by quality band (is the quality score calibrated?):")
    for low, high in BANDS:
        band = [o for o in report.results if low <= o.retrieval.quality < high]
        in_scope = [o for o in band if not o.question.out_of_scope]
        share = f"{sum(map(_correct, in_scope)) / len(in_scope):.2f}" if in_scope else "   -"
        print(
            f"  [{low:.1f}, {min(high, 1.0):.1f})  in-scope {len(in_scope):3d}  hit@1 {share}"
            f"  out-of-scope {len(band) - len(in_scope):2d}"
        )


def _print_sweep(report: EvalReport) -> None:
    print("weak flag by threshold (precision / recall):")
    for threshold in SWEEP:
        flagged = [o for o in report.results if o.retrieval.quality < threshold]
        right = sum(1 for o in flagged if o.question.out_of_scope)
        precision = right / len(flagged) if flagged else 1.0
        recall = right / report.out_of_scope if report.out_of_scope else 1.0
        print(f"  {threshold:.2f}  {precision:.3f} / {recall:.3f}")


def main() -> int:
    """Print the evaluation; exit status 1 when hit@1 is below the target."""
    parser = argparse.ArgumentParser(description="Evaluate the waste retriever.")
    parser.add_argument("--threshold", type=float, default=DEFAULT_WEAK_THRESHOLD)
    parser.add_argument("--quiet", action="store_true", help="do not list misses")
    args = parser.parse_args()

    started = time.perf_counter()
    retriever = WasteRetriever(load_corpus(), weak_threshold=args.threshold)
    build_ms = 1000 * (time.perf_counter() - started)
    report = evaluate(retriever, load_questions(EVAL_FILE))

    print(f"corpus items        {len(retriever.items)}  (load + build {build_ms:.0f} ms)")
    print(f"questions           {report.in_scope} in scope, {report.out_of_scope} out of scope")
    print(f"paraphrased         {report.paraphrase_share:.1%} of in-scope questions use no name/alias")
    print(f"hit@1               {report.hit_at_1:.3f}  (target {TARGET_HIT_AT_1:.2f})")
    print(f"hit@1 paraphrased   {report.paraphrase_hit_at_1:.3f}")
    print(f"hit@3               {report.hit_at_3:.3f}")
    print(f"weak precision      {report.weak_precision:.3f}  (threshold {args.threshold})")
    print(f"weak recall         {report.weak_recall:.3f}")
    print(f"mean latency        {report.mean_latency_ms:.3f} ms per search")
    _print_bands(report)
    _print_sweep(report)
    if not args.quiet:
        print(f"misses at rank 1 ({len(report.misses)}):")
        for outcome in report.misses:
            print(_describe(outcome))
        print(f"wrong weak flag ({len(report.weak_errors)}):")
        for outcome in report.weak_errors:
            print(_describe(outcome))
    return 0 if report.hit_at_1 >= TARGET_HIT_AT_1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
