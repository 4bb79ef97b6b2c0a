"""Scrape cost of the Prometheus multiprocess directory with 1000 dead pool processes, before vs after folding.

Prints, for one synthetic workload (eco2's 20 metric families from ``create_metrics``, each pool process
running ``--tasks`` chats over eco2's intents, providers and subagents before it exits):
  1. files and bytes of the directory before and after folding;
  2. the scrape time (``generate_latest``, median of N) of the stock ``MultiProcessCollector`` over the
     unfolded directory, and after folding of the stock collector and of ``make_registry`` (the stock
     collector under the fold lock, plus the directory-size gauges);
  3. how long folding the backlog took, and one pid's fold at process exit once the archives exist;
  4. whether every counter, histogram and summary sample is unchanged by folding (no data lost).

Usage: python bench/bench_scrape.py [--dead 1000] [--live 4] [--tasks 50] [--repeat 50]
Files are written by prometheus_client itself, under fake pids (``MultiProcessValue`` with a chosen pid).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.values import MultiProcessValue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eco2.adapters.prometheus.definitions import create_metrics  # noqa: E402
from eco2.adapters.prometheus.multiprocess import dir_stats, fold_dead_process, fold_dead_processes, make_registry  # noqa: E402
from eco2.domain.intents import ALL_INTENTS  # noqa: E402

GOAL_MS = 50.0
PROVIDERS = ("openai", "offline")
SUBAGENTS = ("waste_rag", "weather", "bulk_waste", "character", "location", "web_search", "general")
STATUSES = ("ok", "ok", "ok", "weak", "empty", "error")
FIRST_PID = 100_000


def simulate_process(rng: random.Random, tasks: int) -> None:
    """What one pool process records over ``tasks`` chats before it is recycled."""
    m = create_metrics(CollectorRegistry())
    m.stream_active.inc()
    for _ in range(tasks):
        intent, provider = rng.choice(ALL_INTENTS).value, rng.choice(PROVIDERS)
        status = "ok" if rng.random() < 0.95 else "error"
        m.intents.labels(intent, provider).inc()
        m.intent_duration.labels(provider).observe(rng.expovariate(20))
        for subagent in rng.sample(SUBAGENTS, rng.randint(1, 3)):
            m.subagent_calls.labels(subagent, rng.choice(STATUSES)).inc()
            m.subagent_duration.labels(subagent).observe(rng.expovariate(2))
            m.subagent_queue_wait.labels(subagent).observe(rng.expovariate(50))
            m.breaker_state.labels(subagent).set(0)
        tokens = rng.randint(20, 400)
        m.stream_tokens.labels("answer", status).inc(tokens)
        m.stream_requests.labels(status).inc()
        m.stream_token_latency.labels("answer").observe(rng.expovariate(300))
        m.stream_token_interval.labels(provider).observe(rng.expovariate(30))
        m.stream_duration.labels("answer", status).observe(rng.uniform(0.5, 12))
        m.stream_token_count.labels("answer").observe(tokens)
        m.time_to_first_token.labels(provider).observe(rng.uniform(0.1, 3))
        m.request_duration.labels(intent, provider).observe(rng.uniform(0.3, 15))
        m.requests.labels(intent, status, provider).inc()
        if status == "error":
            m.errors.labels(intent, "timeout").inc()
        if rng.random() < 0.05:
            m.fallbacks.labels("waste_rag", "web_search").inc()
            m.partial_answers.labels(intent).inc()
        if rng.random() < 0.02:
            m.stream_recovery.labels("resume", "ok").inc()


def populate(path: Path, pids: list[int], tasks: int) -> None:
    """Write every pid's files through prometheus_client, as if each pid were a pool process."""
    current = [0]
    value_class = MultiProcessValue(lambda: current[0])  # type: ignore[no-untyped-call]
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values.ValueClass = value_class
    rng = random.Random(42)
    for pid in pids:
        current[0] = pid
        simulate_process(rng, tasks)
        value_class.close_all_files()


def scrape_ms(registries: list[CollectorRegistry], repeat: int) -> list[float]:
    """Median milliseconds of one full exposition per registry, interleaved so noise hits them alike."""
    times: list[list[float]] = [[] for _ in registries]
    for _ in range(repeat):
        for registry, samples in zip(registries, times, strict=True):
            start = time.perf_counter()
            generate_latest(registry)
            samples.append((time.perf_counter() - start) * 1000)
    return [statistics.median(samples) for samples in times]


def stock_registry(path: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    return registry


def totals(registry: CollectorRegistry, keep: Callable[[str], bool]) -> dict[tuple[str, str], float]:
    return {
        (s.name, repr(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        if keep(metric.type)
        for s in metric.samples
    }


def same(a: dict[tuple[str, str], float], b: dict[tuple[str, str], float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in a)


def mb(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dead", type=int, default=1000)
    parser.add_argument("--live", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=50, help="chats per pool process before it is recycled")
    parser.add_argument("--repeat", type=int, default=50, help="scrapes per median (5 over the unfolded dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eco2-metrics-") as tmp:
        path = Path(tmp)
        dead = list(range(FIRST_PID, FIRST_PID + args.dead))
        live = list(range(FIRST_PID + args.dead, FIRST_PID + args.dead + args.live))
        start = time.perf_counter()
        populate(path, dead + live, args.tasks)
        print(
            f"workload: {args.dead} dead + {args.live} live pool processes x {args.tasks} chats, 20 families "
            f"(written in {time.perf_counter() - start:.1f} s)"
        )

        files_before, bytes_before = dir_stats(str(path))
        stock = stock_registry(path)
        [before_ms] = scrape_ms([stock], max(1, min(5, args.repeat)))
        not_gauge = totals(stock, lambda typ: typ != "gauge")

        start = time.perf_counter()
        folded = fold_dead_processes(str(path), is_alive=lambda pid: pid in live)
        fold_s = time.perf_counter() - start
        assert len(folded) == args.dead

        files_after, bytes_after = dir_stats(str(path))
        after_stock_ms, after_locked_ms = scrape_ms([stock, make_registry(str(path))], args.repeat)
        unchanged = same(not_gauge, totals(stock, lambda typ: typ != "gauge"))

        exits = list(range(FIRST_PID + 10**6, FIRST_PID + 10**6 + 20))
        populate(path, exits, args.tasks)
        exit_ms = []
        for pid in exits:
            start = time.perf_counter()
            fold_dead_process(pid, str(path))
            exit_ms.append((time.perf_counter() - start) * 1000)

    print(f"directory before: {files_before} files, {mb(bytes_before)} | after: {files_after} files, {mb(bytes_after)}")
    print(f"scrape, stock collector, unfolded:  {before_ms:8.1f} ms  (median of {max(1, min(5, args.repeat))})")
    print(f"scrape, stock collector, folded:    {after_stock_ms:8.1f} ms  (median of {args.repeat})")
    print(f"scrape, make_registry, folded:      {after_locked_ms:8.1f} ms  (median of {args.repeat})")
    print(f"fold of the {args.dead}-pid backlog: {fold_s * 1000:.0f} ms ({fold_s * 1e6 / args.dead:.0f} µs per pid)")
    print(
        f"fold of one pid at exit, archives present: median {statistics.median(exit_ms):.1f} ms, "
        f"max {max(exit_ms):.1f} ms"
    )
    print(
        f"counter/histogram/summary samples unchanged by folding: {'yes' if unchanged else 'NO'} "
        f"({len(not_gauge)} samples)"
    )
    verdict = "met" if after_locked_ms <= GOAL_MS and unchanged else "MISSED"
    print(f"goal: scrape <= {GOAL_MS:.0f} ms with {args.dead} dead processes behind it: {verdict}")


if __name__ == "__main__":
    main()
