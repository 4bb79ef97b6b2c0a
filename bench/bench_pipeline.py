"""End-to-end pipeline benchmark: eco2 chats next to raw Celery work of the same shape, in one run.

Prints
  1. chat latency p50/p99 (send -> terminal event read by a client) next to a raw chord of the same fan-out
     width (entry task -> chord of no-ops -> callback writes one stream entry), interleaved;
  2. chats/s (x tasks per chat) next to raw no-op tasks/s through the same worker, and raw chords/s of
     the same shape (how much of the gap is Celery's chord itself), in rounds: the median round counts;
  3. the cost per token write: one XADD per token (the original's way, plus the full-answer snapshot),
     eco2's writer flushing every token, and eco2's 20 ms coalescing.

Usage: python bench/bench_pipeline.py [--chats 60] [--throughput-chats 200] [--rounds 3] [--concurrency 2]
Real redis-server and real worker processes; instant fake subagents and LLM (bench/fake_app.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fake_app import ANSWER_PIECES  # noqa: E402
from eco2.adapters.redis_streams import RedisStreamsEvents  # noqa: E402
from eco2.localrun import LocalRedis, Worker  # noqa: E402

WIDTH = 4  # bench/fake_app.py's intents fan out to 4 subagents
TASKS_PER_CHAT = 1 + WIDTH + 1  # entry + subagents + continuation (the deadline task runs much later)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_stream(client: redis.Redis, key: str, stop: set[bytes], timeout: float = 30) -> None:
    last = "0-0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _k, entries in client.xread({key: last}, block=1000) or []:
            for entry_id, fields in entries:
                last = entry_id
                if fields.get(b"type") in stop:
                    return
    raise TimeoutError(key)


def latency(backend: Celery, client: redis.Redis, n: int) -> tuple[list[float], list[float]]:
    chat, raw = [], []
    for i in range(n):
        job = f"lat-{i}-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        backend.send_task("eco2.chat.process", kwargs={"job_id": job, "message": "페트병"}, queue="eco2.chat")
        wait_stream(client, f"eco2:chat:{job}:events", {b"done", b"error"})
        chat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        backend.send_task("bench.raw_start", kwargs={"job_id": job, "width": WIDTH}, queue="eco2.chat")
        wait_stream(client, f"bench:raw:{job}", {b"done"})
        raw.append(time.perf_counter() - t0)
    return chat[3:], raw[3:]  # the first few warm caches and connections


def throughput_round(backend: Celery, client: redis.Redis, chats: int) -> tuple[float, float, float]:
    """One round: chats/s, raw no-op tasks/s, and (for context) raw chords/s of the chat's shape."""
    jobs = [f"tp-{i}-{uuid.uuid4().hex[:6]}" for i in range(chats)]
    t0 = time.perf_counter()
    for job in jobs:
        backend.send_task("eco2.chat.process", kwargs={"job_id": job, "message": "페트병"}, queue="eco2.chat")
    for job in jobs:
        wait_stream(client, f"eco2:chat:{job}:events", {b"done", b"error"}, timeout=300)
    chats_per_s = chats / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for job in jobs:
        backend.send_task("bench.raw_start", kwargs={"job_id": job, "width": WIDTH}, queue="eco2.chat")
    for job in jobs:
        wait_stream(client, f"bench:raw:{job}", {b"done"}, timeout=300)
    chords_per_s = chats / (time.perf_counter() - t0)
    tasks = chats * TASKS_PER_CHAT
    client.delete("bench:count")
    t0 = time.perf_counter()
    for _ in range(tasks):
        backend.send_task("bench.count", queue="eco2.chat")
    while int(client.get("bench:count") or 0) < tasks:
        time.sleep(0.005)
    raw_per_s = tasks / (time.perf_counter() - t0)
    return chats_per_s, raw_per_s, chords_per_s


def throughput(backend: Celery, client: redis.Redis, chats: int, rounds: int) -> list[tuple[float, float, float]]:
    """``rounds`` back-to-back rounds: the machine's speed drifts over a run, so each round's ratio
    compares runs only seconds apart, and the report takes the median round."""
    return [throughput_round(backend, client, chats) for _ in range(rounds)]


def token_costs(url: str, tokens: int = 2000) -> dict[str, float]:
    client = redis.Redis.from_url(url)
    out: dict[str, float] = {}
    # The original design: XADD per token plus the whole accumulated answer into the snapshot each time.
    answer = ""
    t0 = time.perf_counter()
    for n in range(tokens):
        answer += "토큰 "
        pipe = client.pipeline(transaction=False)
        pipe.xadd("bench:orig:events", {"type": "token", "delta": "토큰 "})
        pipe.hset("bench:orig:snapshot", mapping={"answer": answer, "last_seq": n})
        pipe.execute()
    out["original: XADD + full snapshot per token"] = (time.perf_counter() - t0) / tokens
    t0 = time.perf_counter()
    for _ in range(tokens):
        client.xadd("bench:xadd:events", {"type": "token", "delta": "토큰 "})
    out["bare XADD per token (floor of any per-token write)"] = (time.perf_counter() - t0) / tokens
    for label, flush_ms in (("eco2 writer, flush every token", 0), ("eco2 writer, 20 ms coalescing", 20)):
        events = RedisStreamsEvents(client, prefix=f"bench{flush_ms}", flush_ms=flush_ms)
        writer = events.open(f"tok-{uuid.uuid4().hex[:6]}")
        t0 = time.perf_counter()
        for _ in range(tokens):
            writer.token("answer", "토큰 ")
        writer.done({"intent": "general"})
        out[label] = (time.perf_counter() - t0) / tokens
    # O(1) snapshot: cost of one flush at a short and at a long accumulated answer.
    events = RedisStreamsEvents(client, prefix="benchlen", flush_ms=0)
    for length in (100, 20000):
        writer = events.open(f"len-{length}-{uuid.uuid4().hex[:6]}")
        writer.token("answer", "가" * length)
        t0 = time.perf_counter()
        for _ in range(500):
            writer.token("answer", "토큰 ")
        out[f"eco2 flush with a {length}-char answer already streamed"] = (time.perf_counter() - t0) / 500
    return out


def in_process_cost(url: str, state: str, n: int = 200) -> tuple[float, float]:
    """eco2's own work per chat without Celery (inline dispatch, real Redis and SQLite): total and graph."""
    from langgraph.pregel import Pregel

    from bench.fake_app import InstantClassifier, InstantSubagent, InstantWriter
    from eco2.bootstrap import bootstrap, inline_scheduling, redis_client, redis_events
    from eco2.config import Settings
    from eco2.dispatch.inline import ServiceHandle
    from eco2.domain.registry import REGISTRY

    settings = Settings.from_env({"ECO2_REDIS_URL": url, "ECO2_STATE_DIR": state + "/inproc"})
    events = redis_events(settings, redis_client(url))
    subagents = {spec.name: InstantSubagent(spec.name) for spec in REGISTRY}
    handle = ServiceHandle()  # in-process rounds on one thread; Redis sessions and the SQLite checkpointer
    container = bootstrap(
        settings,
        scheduling=lambda runner: inline_scheduling(runner, handle, max_workers=1),
        events=events,
        classifier=InstantClassifier(),
        writer=InstantWriter(),
        subagents=subagents,
        on_built=lambda built: handle.point_at(built.service),
    )
    graph_time = [0.0]
    stream, get_state = Pregel.stream, Pregel.get_state

    def timed(fn):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                graph_time[0] += time.perf_counter() - t0

        return run

    def timed_stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Time spent inside the graph's generator only (not in the service's loop body)."""
        chunks = stream(self, *args, **kwargs)
        while True:
            t0 = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            finally:
                graph_time[0] += time.perf_counter() - t0
            yield chunk

    Pregel.stream, Pregel.get_state = timed_stream, timed(get_state)  # type: ignore[method-assign]
    try:
        for i in range(20):
            container.service.accept((), {"job_id": f"warm-{i}-{uuid.uuid4().hex[:6]}", "message": "페트병"})
        graph_time[0] = 0.0
        t0 = time.perf_counter()
        for i in range(n):
            container.service.accept((), {"job_id": f"inproc-{i}-{uuid.uuid4().hex[:6]}", "message": "페트병"})
        total = (time.perf_counter() - t0) / n
    finally:
        Pregel.stream, Pregel.get_state = stream, get_state  # type: ignore[method-assign]
        container.close()
    return total, graph_time[0] / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=60, help="latency samples per side")
    parser.add_argument("--throughput-chats", type=int, default=200, help="chats per throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (the median is reported)")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with LocalRedis() as server, tempfile.TemporaryDirectory() as state:
        env = {
            "ECO2_REDIS_URL": server.url,
            "ECO2_STATE_DIR": state,
            "PYTHONPATH": str(ROOT),
            **{k: v for k, v in __import__("os").environ.items() if k.startswith("BENCH_")},
        }
        with Worker(env, app="bench.fake_app", concurrency=args.concurrency, extra_args=["--loglevel", "WARNING"]):
            backend = Celery(broker=server.url)
            client = redis.Redis.from_url(server.url)
            chat, raw = latency(backend, client, args.chats)
            rounds = throughput(backend, client, args.throughput_chats, args.rounds)
        costs = token_costs(server.url)
        own, graph = in_process_cost(server.url, state)
    p50c, p99c, p50r, p99r = pct(chat, 0.5), pct(chat, 0.99), pct(raw, 0.5), pct(raw, 0.99)
    print(f"fan-out width {WIDTH}, answer {ANSWER_PIECES} tokens, worker -c {args.concurrency}")
    print(f"latency  chat p50 {p50c * 1000:7.1f} ms  p99 {p99c * 1000:7.1f} ms   (n={len(chat)})")
    print(f"latency  raw  p50 {p50r * 1000:7.1f} ms  p99 {p99r * 1000:7.1f} ms   (chord of {WIDTH} no-ops)")
    print(f"latency  ratio p50 {p50c / p50r:.2f}  p99 {p99c / p99r:.2f}   (goal <= 1.3)")
    ratios = sorted(c * TASKS_PER_CHAT / r for c, r, _ in rounds)
    chats_s, raw_s, chords_s = (statistics.median(column) for column in zip(*rounds, strict=True))
    print(f"throughput chats/s {chats_s:7.1f}  x {TASKS_PER_CHAT} tasks = {chats_s * TASKS_PER_CHAT:7.1f} tasks/s")
    print(
        f"throughput raw no-op tasks/s {raw_s:7.1f}   ratio {statistics.median(ratios):.2f} (goal >= 0.7; "
        f"median of {len(rounds)} rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(
        f"throughput raw chords/s {chords_s:7.1f}  x {TASKS_PER_CHAT} = {chords_s * TASKS_PER_CHAT:7.1f} tasks/s"
        f"   ratio {statistics.median(h * TASKS_PER_CHAT / r for _, r, h in rounds):.2f}"
        " (context: Celery's own chord cost, no eco2 code)"
    )
    for label, seconds in costs.items():
        print(f"token write  {seconds * 1e6:8.1f} us  {label}")
    print(f"eco2's own work per chat, in process, no Celery: {own * 1000:.1f} ms (LangGraph {graph * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
