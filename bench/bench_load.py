"""Concurrent streaming answers against a model paced like a real one: eco2 next to the asyncio floor.

In one run it starts a private redis-server and a paced OpenAI-compatible model (bench/paced_model.py:
intent call ``--intent-ms``; answer: first token after ``--first-token-ms``, then ``--tokens`` tokens
``--token-ms`` apart, each marked with its request and position), then puts the same loads, through the
same enqueue (Celery ``send_task``) and the same reader, on

  - eco2 as ``eco2 worker`` starts it, with no tuning flags (``--eco2-args`` adds some, to compare
    candidates; each ``--eco2-args`` is one more side), OPENAI_BASE_URL pointing at the paced model;
  - the floor (bench/load_floor.py): one asyncio process that only streams the model's answer into the
    job's stream with the same coalescing window.

Loads: ``100`` and ``300`` chats enqueued at once; ``ramp``: the article's k6 stages (to 10 users, to 50,
to 0; each user sends its next chat when the last one ends) shortened by ``--ramp-scale``. The floor runs
each load right before each eco2 side, so every ratio compares runs seconds apart on the same machine.

Per side it prints: chats done / errors / never ended / duplicated terminal events / answers that differ
from their deltas, first token p50/p99 (enqueue -> the reader's first token), answer done p50/p99, peak
concurrent streams, token lag p50/p99 (the reader's XREAD minus when the model sent the token), worker CPU
ms per chat, peak RSS of the worker's processes, and eco2/floor for each.

Usage: python bench/bench_load.py [--loads 100,300,ramp] [--eco2-args "-P threads -c 200"] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
import requests
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paced_model import MARKER, running  # noqa: E402
from eco2.localrun import LocalRedis, Worker, free_port, stop_process  # noqa: E402

TERMINAL = {b"done", b"error"}
MESSAGES = ("페트병 어떻게 버려?", "우유팩은 어떻게 버려?", "유리병 뚜껑은 어디에 버려?", "건전지 버리는 법")
RAMP_STAGES = ((60.0, 10), (300.0, 50), (60.0, 0))  # the article's k6 scenario: (seconds, target users)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Chat:
    """What the reader saw of one job."""

    job_id: str
    key: bytes
    sent_at: float
    first_token: float | None = None
    ended: float | None = None
    outcome: str = ""
    deltas: list[str] = field(default_factory=list)
    answer: str | None = None
    received: list[tuple[int, int, float]] = field(default_factory=list)  # (request, token, when read)


class Processes:
    """CPU and peak RSS of a process tree, sampled by a thread while a load runs."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_s(self, kind: str = "all") -> float:
        """CPU seconds of the tree so far (``user``, ``system`` or ``all``), with reaped children's."""
        total = 0.0
        for proc in self.tree():
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            if kind in ("all", "user"):
                total += t.user + t.children_user
            if kind in ("all", "system"):
                total += t.system + t.children_system
        return total

    def rss(self) -> int:
        total = 0
        for proc in self.tree():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def __enter__(self) -> Processes:
        self.peak_rss = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_rss = max(self.peak_rss, self.rss())


class Side:
    """Something that takes chats off a queue and streams them."""

    name: str
    queue: str
    task: str
    pid: int

    def stop(self) -> None: ...


class Eco2Side(Side):
    """``eco2 worker`` (the start-up script) with ``args``."""

    task = "eco2.chat.process"
    queue = "eco2.chat"

    def __init__(self, env: dict[str, str], args: list[str], log_dir: Path) -> None:
        self.name = "eco2" + (f" {' '.join(args)}" if args else "")
        log = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.worker = Worker(env, pool=None, concurrency=None, extra_args=args, log_path=log, launcher="eco2")
        self.pid = self.worker.proc.pid

    def stop(self) -> None:
        self.worker.stop()


class FloorSide(Side):
    """bench/load_floor.py."""

    name = "floor"
    task = "bench.floor"
    queue = "bench.floor"

    def __init__(self, redis_url: str, model_url: str, flush_ms: int) -> None:
        cmd = [sys.executable, "-m", "bench.load_floor", "--redis-url", redis_url, "--model-url", model_url]
        cmd += ["--queue", self.queue, "--flush-ms", str(flush_ms)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()  # "floor ready"
        self.pid = self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc, 10)


class Driver:
    """Sends chats the way a backend does and reads every stream with one XREAD loop (one connection)."""

    def __init__(self, redis_url: str, model_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.backend = Celery(broker=redis_url)
        self.model_url = model_url.removesuffix("/v1")
        self.chats: dict[bytes, Chat] = {}
        self.active: dict[bytes, bytes] = {}

    def send(self, side: Side, message: str, session_id: str | None = None) -> Chat:
        job_id = f"load-{uuid.uuid4().hex[:12]}"
        kwargs: dict[str, Any] = {"job_id": job_id, "message": message}
        if session_id:
            kwargs["session_id"] = session_id
        key = f"eco2:chat:{job_id}:events".encode()
        chat = Chat(job_id, key, time.time())
        self.chats[key] = chat
        self.active[key] = b"0-0"
        self.backend.send_task(side.task, kwargs=kwargs, queue=side.queue)
        return chat

    def read(self, until: Callable[[], bool], timeout_s: float, on_end: Callable[[Chat], None] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while not until() and time.monotonic() < deadline:
            if not self.active:
                time.sleep(0.005)
                continue
            reply = self.client.xread(self.active, count=1000, block=50)  # type: ignore[arg-type]
            now = time.time()
            for key, entries in reply or []:
                chat = self.chats[key]
                for entry_id, fields in entries:
                    self.active[key] = entry_id
                    self._entry(chat, fields, now)
                if chat.ended is not None:
                    self.active.pop(key, None)
                    if on_end is not None:
                        on_end(chat)

    @staticmethod
    def _entry(chat: Chat, fields: dict[bytes, bytes], now: float) -> None:
        kind = fields.get(b"type")
        if kind == b"token":
            delta = fields[b"delta"].decode()
            chat.deltas.append(delta)
            if chat.first_token is None:
                chat.first_token = now
            chat.received.extend((int(r), int(i), now) for r, i in MARKER.findall(delta))
        elif kind == b"reset":
            chat.deltas.clear()
        elif kind in TERMINAL:
            chat.ended, chat.outcome = now, kind.decode()
            data = json.loads(fields.get(b"data", b"{}"))
            chat.answer = data.get("answer")
            if kind == b"error":
                chat.outcome = f"error:{data.get('code')}"

    def sent_times(self) -> dict[int, list[float]]:
        raw = requests.get(f"{self.model_url}/stats", timeout=30).json()["sent"]
        return {int(r): times for r, times in raw.items()}

    def reset_model(self) -> None:
        requests.post(f"{self.model_url}/reset", timeout=10)

    def terminal_counts(self, chats: list[Chat]) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for chat in chats:
            pipe.xrange(chat.key)
        return [sum(1 for _id, f in entries if f.get(b"type") in TERMINAL) for entries in pipe.execute()]


def run_load(driver: Driver, side: Side, load: str, args: argparse.Namespace) -> dict[str, Any]:
    """Put one load on one side; return its figures."""
    driver.chats.clear()
    driver.active.clear()
    driver.reset_model()
    procs = Processes(side.pid)
    idle_rss = procs.rss()
    cpu0, sys0 = procs.cpu_s(), procs.cpu_s("system")
    started = time.time()
    with procs, profiled(side, load, args.py_spy):
        if load == "ramp":
            chats = ramp(driver, side, args.ramp_scale)
        else:
            n = int(load)
            chats = [driver.send(side, MESSAGES[i % len(MESSAGES)]) for i in range(n)]
            driver.read(lambda: all(c.ended is not None for c in chats), args.timeout)
    cpu = procs.cpu_s() - cpu0
    system = procs.cpu_s("system") - sys0
    duration = time.time() - started
    sent = driver.sent_times()
    lags = [(when - sent[r][i]) * 1000 for c in chats for r, i, when in c.received if r in sent and i < len(sent[r])]
    done = [c for c in chats if c.outcome == "done"]
    counts = driver.terminal_counts(chats)
    edges = sorted(
        [(c.first_token, 1) for c in chats if c.first_token and c.ended]
        + [(c.ended, -1) for c in chats if c.first_token and c.ended]
    )
    peak = level = 0
    for _when, step in edges:
        level += step
        peak = max(peak, level)
    return {
        "chats": len(chats),
        "done": len(done),
        "errors": sum(1 for c in chats if c.outcome.startswith("error")),
        "never_ended": sum(1 for c in chats if c.ended is None),
        "duplicated": sum(1 for n in counts if n > 1),
        "mismatched": sum(1 for c in done if c.answer != "".join(c.deltas)),
        "first_token_p50": pct([c.first_token - c.sent_at for c in chats if c.first_token], 0.5),
        "first_token_p99": pct([c.first_token - c.sent_at for c in chats if c.first_token], 0.99),
        "done_p50": pct([c.ended - c.sent_at for c in chats if c.ended], 0.5),
        "done_p99": pct([c.ended - c.sent_at for c in chats if c.ended], 0.99),
        "peak_streams": peak,
        "lag_p50_ms": pct(lags, 0.5),
        "lag_p99_ms": pct(lags, 0.99),
        "cpu_ms_per_chat": cpu * 1000 / max(len(chats), 1),
        "system_cpu_share": system / cpu if cpu else 0.0,
        "rss_mib": procs.peak_rss / 2**20,
        "idle_rss_mib": idle_rss / 2**20,
        "processes": len(procs.tree()),
        "duration_s": duration,
        "error_codes": sorted({c.outcome for c in chats if c.outcome.startswith("error")}),
    }


def ramp(driver: Driver, side: Side, scale: float) -> list[Chat]:
    """The article's k6 stages, ``scale`` times as long: users ramp linearly between stage targets."""
    stages = [(seconds * scale, target) for seconds, target in RAMP_STAGES]
    total = sum(seconds for seconds, _ in stages)
    begin = time.monotonic()
    users: dict[int, int] = {}  # user -> chats sent
    busy: dict[str, int] = {}  # job -> user
    chats: list[Chat] = []
    next_user = 0

    def target(elapsed: float) -> int:
        start_level, at = 0.0, 0.0
        for seconds, level in stages:
            if elapsed < at + seconds:
                return round(start_level + (level - start_level) * (elapsed - at) / seconds)
            start_level, at = level, at + seconds
        return 0

    def send(user: int) -> None:
        users[user] += 1
        chat = driver.send(side, MESSAGES[(user + users[user]) % len(MESSAGES)], f"session-{user}-{users[user]}")
        busy[chat.job_id] = user
        chats.append(chat)

    def on_end(chat: Chat) -> None:
        user = busy.pop(chat.job_id)
        if len(busy) < target(time.monotonic() - begin):
            send(user)
        else:
            users.pop(user)

    def tick() -> bool:
        nonlocal next_user
        elapsed = time.monotonic() - begin
        while len(busy) < target(elapsed):
            users[next_user] = 0
            send(next_user)
            next_user += 1
        return elapsed >= total and not busy

    driver.read(tick, total + 120, on_end)
    return chats


ROWS: tuple[tuple[str, str, str], ...] = (
    ("first token p50 (s)", "first_token_p50", "{:.2f}"),
    ("first token p99 (s)", "first_token_p99", "{:.2f}"),
    ("answer done p50 (s)", "done_p50", "{:.2f}"),
    ("answer done p99 (s)", "done_p99", "{:.2f}"),
    ("peak concurrent streams", "peak_streams", "{:.0f}"),
    ("token lag p50 (ms)", "lag_p50_ms", "{:.1f}"),
    ("token lag p99 (ms)", "lag_p99_ms", "{:.1f}"),
    ("worker CPU per chat (ms)", "cpu_ms_per_chat", "{:.1f}"),
    ("  of it in the kernel", "system_cpu_share", "{:.0%}"),
    ("worker RSS before (MiB)", "idle_rss_mib", "{:.0f}"),
    ("worker RSS peak (MiB)", "rss_mib", "{:.0f}"),
)


def report(load: str, floor: dict[str, Any], side: str, eco2: dict[str, Any]) -> None:
    print(f"\n== load {load}: {side} next to the floor ==", flush=True)
    print(f"{'':28}{'floor':>14}{'eco2':>14}{'eco2/floor':>12}")
    counts = "{done}/{errors}/{never_ended}/{duplicated}/{mismatched}"
    print(f"{'done/err/never/dup/mismatch':28}{counts.format(**floor):>14}{counts.format(**eco2):>14}")
    for label, key, fmt in ROWS:
        ratio = eco2[key] / floor[key] if floor[key] else float("nan")
        print(f"{label:28}{fmt.format(floor[key]):>14}{fmt.format(eco2[key]):>14}{ratio:>12.2f}")
    print(f"{'first token p50, eco2-floor':28}{'':>14}{eco2['first_token_p50'] - floor['first_token_p50']:>+14.2f}")
    if eco2["error_codes"] or floor["error_codes"]:
        print(f"error codes: floor {floor['error_codes']} eco2 {eco2['error_codes']}")


def paced_model(args: argparse.Namespace) -> AbstractContextManager[str]:
    flags = ["--intent-ms", str(args.intent_ms), "--first-token-ms", str(args.first_token_ms)]
    return running(*flags, "--token-ms", str(args.token_ms), "--tokens", str(args.tokens))


@contextmanager
def profiled(side: Side, load: str, folder: Path | None) -> Iterator[None]:
    """py-spy over the side's processes while the load runs (collapsed stacks, ``--py-spy DIR``)."""
    if folder is None or side.name == "floor":
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{load}-{uuid.uuid4().hex[:4]}.txt"
    cmd = [
        "py-spy",
        "record",
        "--pid",
        str(side.pid),
        "--subprocesses",
        "--format",
        "raw",
        "--rate",
        "250",
        *os.environ.get("ECO2_PY_SPY_ARGS", "").split(),
    ]
    spy = subprocess.Popen([*cmd, "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(30)
        print(f"py-spy: {out}", flush=True)


def warm(driver: Driver, side: Side, n: int = 6) -> None:
    chats = [driver.send(side, MESSAGES[i % len(MESSAGES)]) for i in range(n)]
    driver.read(lambda: all(c.ended is not None for c in chats), 120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="100,300,ramp", help="comma-separated: a chat count, or ramp")
    parser.add_argument("--eco2-args", action="append", default=None, help="worker arguments of an eco2 side")
    parser.add_argument("--ramp-scale", type=float, default=0.4, help="ramp stages' length factor (1 = 7 min)")
    parser.add_argument("--intent-ms", type=float, default=300)
    parser.add_argument("--first-token-ms", type=float, default=400)
    parser.add_argument("--token-ms", type=float, default=33)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--flush-ms", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=180, help="seconds a load may take before giving up")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--py-spy", type=Path, help="profile each eco2 load with py-spy into this folder")
    args = parser.parse_args()
    loads = [load.strip() for load in args.loads.split(",") if load.strip()]
    candidates = [shlex.split(a) for a in (args.eco2_args or [""])]
    results: list[dict[str, Any]] = []
    with LocalRedis() as local, paced_model(args) as model_url, tempfile.TemporaryDirectory() as tmp:
        print(f"bench_load: redis {local.url}, paced model {model_url}; loads {loads}", flush=True)
        driver = Driver(local.url, model_url)
        env = {
            "ECO2_REDIS_URL": local.url,
            "ECO2_STATE_DIR": str(Path(tmp) / "state"),
            "ECO2_LLM_PROVIDER": "auto",
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": model_url,
            "ECO2_TOKEN_FLUSH_MS": str(args.flush_ms),
            "ECO2_METRICS_PORT": str(free_port()),
            "PYTHONPATH": str(ROOT),
        }
        floor = FloorSide(local.url, model_url, args.flush_ms)
        try:
            warm(driver, floor)
            for worker_args in candidates:
                eco2 = Eco2Side(env, worker_args, Path(tmp))
                try:
                    warm(driver, eco2)
                    for load in loads:
                        floor_figures = run_load(driver, floor, load, args)
                        eco2_figures = run_load(driver, eco2, load, args)
                        report(load, floor_figures, eco2.name, eco2_figures)
                        results.append({"load": load, "side": eco2.name, "floor": floor_figures, "eco2": eco2_figures})
                finally:
                    eco2.stop()
        finally:
            floor.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
