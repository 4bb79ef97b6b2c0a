"""How fast could a chat be? eco2 next to itself with parts taken out, and next to raw Celery, in one run.

Each round starts one worker per variant in turn (same Redis, same ``-c``) and measures, in that worker,
chats/s, raw chords/s of the chat's shape and raw no-op tasks/s (``bench_pipeline.throughput_round``):
  eco2        the bench app (``bench.fake_app``): LangGraph orchestrator, event streams, deadlines;
  graphless   eco2's tasks, dispatcher, subagent runner and streams, no LangGraph (``bench/floor_app.py``);
  bare        eco2's task code and Celery's chord only: no LangGraph, no stream writes, no deadlines.
The ratio is chats/s x tasks per chat / raw tasks/s, the throughput goal's measure (``bench_pipeline``).

Usage: python bench/bench_floor.py [--chats 200] [--rounds 3] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import TASKS_PER_CHAT, throughput_round  # noqa: E402
from eco2.localrun import LocalRedis, Worker  # noqa: E402

VARIANTS = {
    "eco2": ("bench.fake_app", ""),
    "graphless": ("bench.floor_app", "graphless"),
    "bare": ("bench.floor_app", "bare"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=200, help="chats per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in VARIANTS}
    with LocalRedis() as server:
        backend = Celery(broker=server.url)
        client = redis.Redis.from_url(server.url)
        for round_no in range(args.rounds):
            for name, (app, mode) in VARIANTS.items():
                with tempfile.TemporaryDirectory() as state:
                    env = {
                        "ECO2_REDIS_URL": server.url,
                        "ECO2_STATE_DIR": state,
                        "PYTHONPATH": str(ROOT),
                        "BENCH_FLOOR": mode,
                    }
                    extra = ["--loglevel", "WARNING"]
                    with Worker(env, app=app, concurrency=args.concurrency, extra_args=extra):
                        throughput_round(backend, client, 30)  # warm both pool processes
                        chats, raw, chords = throughput_round(backend, client, args.chats)
                rows[name].append((chats, raw, chords))
                print(
                    f"round {round_no}  {name:9s}  chats/s {chats:6.1f}  raw chords/s {chords:6.1f}  "
                    f"raw tasks/s {raw:6.1f}  ratio {chats * TASKS_PER_CHAT / raw:.2f}",
                    flush=True,
                )
    print(f"\nmedians over {args.rounds} rounds (ratio: x {TASKS_PER_CHAT} tasks per chat / raw tasks/s)")
    for name, measured in rows.items():
        ratio = statistics.median(c * TASKS_PER_CHAT / r for c, r, _ in measured)
        chord_ratio = statistics.median(h * TASKS_PER_CHAT / r for _, r, h in measured)
        chats = statistics.median(c for c, _, _ in measured)
        print(f"{name:9s}  chats/s {chats:6.1f}  ratio {ratio:.2f}   (raw chords, same worker: {chord_ratio:.2f})")


if __name__ == "__main__":
    main()
