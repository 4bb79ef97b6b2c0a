"""How many idle SSE connections one `eco2 gateway` process holds, and what they cost.

Starts a private redis-server and `eco2 gateway`, creates jobs that stay queued (no worker), opens
``--connections`` SSE streams on them at once (asyncio + httpx, ``--jobs`` streams per job), keeps them
idle for ``--hold`` seconds while heartbeats flow, and prints: connections open, heartbeats received per
connection, the gateway's RSS before and while holding them, its CPU over the hold, Redis's connected
clients, and ``/healthz`` latency while they are open. Then one job is finished and the time until every
connection on it has its terminal event is measured.

Usage: python bench/bench_gateway_idle.py [--connections 2000] [--hold 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402

from eco2.localrun import GatewayServer, LocalRedis  # noqa: E402


async def hold(url: str, path: str, beats: list[int], ended: list[float], index: int) -> None:
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", url + path) as response:
        async for line in response.aiter_lines():
            if line.startswith(":"):
                beats[index] += 1
            elif line.startswith(("event: error", "event: done")):
                ended[index] = time.monotonic()
                return


async def run(args: argparse.Namespace, url: str, client: redis.Redis, pid: int) -> None:
    jobs = [f"idle-{n:05d}" for n in range(max(1, args.connections // args.per_job))]
    for job in jobs:
        client.hset(f"eco2:chat:{job}:snapshot", mapping={"status": "queued", "last_seq": "0"})
    proc = psutil.Process(pid)
    rss_before = proc.memory_info().rss / 2**20
    beats = [0] * args.connections
    ended = [0.0] * args.connections
    started = time.monotonic()
    tasks = [
        asyncio.create_task(hold(url, f"/v1/chats/{jobs[i % len(jobs)]}/events", beats, ended, i))
        for i in range(args.connections)
    ]
    await asyncio.sleep(3)
    cpu_before = sum(proc.cpu_times()[:2])
    health: list[float] = []
    async with httpx.AsyncClient() as probe:
        until = time.monotonic() + args.hold
        while time.monotonic() < until:
            t = time.perf_counter()
            await probe.get(url + "/healthz")
            health.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.5)
    cpu = sum(proc.cpu_times()[:2]) - cpu_before
    rss_holding = proc.memory_info().rss / 2**20
    open_now = sum(1 for t in tasks if not t.done())
    clients = client.info("clients")["connected_clients"]
    # End one job: every connection on it must get its terminal event.
    target = jobs[0]
    watchers = [i for i in range(args.connections) if i % len(jobs) == 0]
    ended_at = time.monotonic()
    client.xadd(f"eco2:chat:{target}:events", {"seq": "1", "type": "error", "ts": "0", "data": "{}"})
    while any(ended[i] == 0 for i in watchers) and time.monotonic() - ended_at < 30:
        await asyncio.sleep(0.05)
    slowest = max(ended[i] for i in watchers) - ended_at if all(ended[i] for i in watchers) else float("nan")
    failures = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if failures:
        print(f"{len(failures)} connections failed, e.g. {failures[0]!r}")
    held = time.monotonic() - started
    per = [b for b, e in zip(beats, ended, strict=True) if e == 0]
    print(f"connections opened            {args.connections} ({args.per_job} per job, {len(jobs)} jobs)")
    print(f"still open after {held:.0f} s         {open_now}")
    print(f"heartbeats per connection     median {statistics.median(per) if per else 0:.0f} (every {args.heartbeat} s)")
    print(f"gateway RSS                   {rss_before:.0f} MiB before, {rss_holding:.0f} MiB holding them")
    print(f"  per connection              {(rss_holding - rss_before) * 1024 / args.connections:.0f} KiB")
    print(f"gateway CPU while idle        {cpu / args.hold * 100:.1f} % of a core")
    print(f"Redis connected clients       {clients}")
    print(f"/healthz while holding        p50 {statistics.median(health):.1f} ms, max {max(health):.1f} ms")
    print(f"a job's end reached its {len(watchers)} readers within {slowest * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--per-job", type=int, default=2, help="readers per job (a reload, a second tab)")
    parser.add_argument("--hold", type=float, default=20)
    parser.add_argument("--heartbeat", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalRedis() as server:
        env = {
            "ECO2_REDIS_URL": server.url,
            "ECO2_STATE_DIR": tmp,
            "ECO2_GATEWAY_RATE_PER_MIN": "10000000",
            "ECO2_GATEWAY_HEARTBEAT_S": str(args.heartbeat),
            "PYTHONPATH": str(ROOT),
        }
        with GatewayServer(env) as gateway:
            asyncio.run(run(args, gateway.url, redis.Redis.from_url(server.url), gateway.proc.pid))


if __name__ == "__main__":
    main()
