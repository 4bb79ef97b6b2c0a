"""Faults, injected into real processes and measured: what a worker, Redis or the model going wrong costs.

Each scenario starts what it needs (a private redis-server with the persistence docs/deploy.md asks for,
``eco2 worker`` as shipped, bench/paced_model.py as the model) and prints one row: chats sent, ended with
``done``, ended with ``error``, lost (no terminal event by the scenario's end), the time that matters for
it, the goal and whether it was met. docs/reliability.md has the table of a run.

  poison        >= 30 kinds of malformed messages and bad input: the worker never exits, every message ends
                in a job's stream, in ``{prefix}:chat:rejected`` or in the rejection metric, chats go on
  kill          SIGKILL of the worker's main process mid-answer: every chat ``done`` with its whole answer,
                <= 30 s after a replacement starts (RabbitMQ: <= 10 s)
  redis-restart Redis restarted (append-only) mid-answer: no chat lost, answers re-run
  broker-restart RabbitMQ restarted mid-answer: no chat lost (amqp only; with Redis it is redis-restart)
  redis-empty   Redis restarted without its data: the loss is detected (metric, log) within seconds
  model-hang    the model accepts calls and never answers: its breaker opens within 5 failed calls, then
                every chat is answered offline in <= 2 s
  deadline      the intent call hangs: every job ends by its deadline counted from acceptance

Every scenario runs once per broker (``--brokers redis,amqp``): Redis as the broker, and RabbitMQ (a private
node from Debian's rabbitmq-server) as the broker with Redis keeping streams, results and sessions.

Usage: python bench/chaos.py [--only kill,poison] [--brokers redis,amqp] [--chats 6]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import requests
from celery import Celery
from kombu import Connection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paced_model import running  # noqa: E402
from eco2.localrun import LocalRabbitMQ, LocalRedis, Worker, free_port  # noqa: E402

TASK = "eco2.chat.process"


@dataclass
class Row:
    """One scenario's outcome."""

    scenario: str
    chats: int
    done: int
    errors: int
    lost: int
    measured: str
    goal: str
    met: bool


# -- the poison: every kind of message a worker may find on its queues ------------------------------------
def _headers(task: str | None = TASK, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": str(uuid.uuid4())}
    if task is not None:
        base["task"] = task
    return {**base, **extra}


Poison = tuple[str, Any, str, str, dict[str, Any]]
"""(queue, body, content type, content encoding, headers)"""


def poison_messages() -> list[Poison]:
    """Malformed messages: bodies, encodings, content types, headers, task names, queues."""
    json_, utf8 = "application/json", "utf-8"
    pair = '[[], {"job_id": "p-%s", "message": "x"}]'
    return [
        ("eco2.chat", '{"job_id": "p-dict"}', json_, utf8, _headers()),
        ("eco2.chat", pair % "pair", json_, utf8, _headers()),
        ("eco2.chat", '"hello"', json_, utf8, _headers()),
        ("eco2.chat", "null", json_, utf8, _headers()),
        ("eco2.chat", "true", json_, utf8, _headers()),
        ("eco2.chat", "42", json_, utf8, _headers()),
        ("eco2.chat", "[]", json_, utf8, _headers()),
        ("eco2.chat", "[1, 2, 3]", json_, utf8, _headers()),
        ("eco2.chat", "[[], [], {}]", json_, utf8, _headers()),
        ("eco2.chat", '[{}, {"job_id": "p-argsobj"}, {}]', json_, utf8, _headers()),
        ("eco2.chat", '[[], {"job_id": "p-embed"}, 5]', json_, utf8, _headers()),
        ("eco2.chat", '[[], {"job_id": "p-four"}, {}, {}]', json_, utf8, _headers()),
        ("eco2.chat", "not json", json_, utf8, _headers()),
        ("eco2.chat", "{", json_, utf8, _headers()),
        ("eco2.chat", "", json_, utf8, _headers()),
        ("eco2.chat", b"\xff\xfe\x00", json_, "binary", _headers()),
        (
            "eco2.chat",
            pickle.dumps(([], {"job_id": "p-pickle"}, {})),
            "application/x-python-serialize",
            "binary",
            _headers(),
        ),
        ("eco2.chat", "job_id: p-yaml", "application/x-yaml", utf8, _headers()),
        ("eco2.chat", "hello", "text/plain", utf8, _headers()),
        ("eco2.chat", '[[], {"job_id": "p-unknown"}, {}]', json_, utf8, _headers("no.such.task")),
        ("eco2.chat", '[[], {"job_id": "p-notask"}, {}]', json_, utf8, _headers(None)),
        ("eco2.chat", '{"hello": 1}', json_, utf8, {}),
        ("eco2.chat", '[[], {"job_id": "p-id"}, {}]', json_, utf8, {"task": TASK, "id": 7}),
        ("eco2.chat", '[[], {"job_id": "p-eta"}, {}]', json_, utf8, _headers(eta="not a time")),
        ("eco2.chat", '[[], {"job_id": "p-expires"}, {}]', json_, utf8, _headers(expires="soon")),
        ("eco2.chat", '[[], {"job_id": "p-limit"}, {}]', json_, utf8, _headers(timelimit="x")),
        ("eco2.chat", '[[], {"job_id": "p-retries"}, {}]', json_, utf8, _headers(retries="many")),
        ("eco2.chat", '"x"', json_, utf8, _headers("celery.chord_unlock")),
        ("eco2.io", '{"job": {}}', json_, utf8, _headers("eco2.subagent.weather")),
        ("eco2.cpu", "[1]", json_, utf8, _headers("eco2.subagent.waste_rag")),
        ("eco2.chat", '[[], {"job_id": "p-continue"}, {}]', json_, utf8, _headers("eco2.chat.continue")),
    ]


def bad_inputs() -> list[dict[str, Any]]:
    """Well-formed messages whose kwargs break the contract: each gets an error event or a rejection."""
    return [
        {"message": "no job id"},
        {"job_id": "", "message": "x"},
        {"job_id": "has space", "message": "x"},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": ""},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": "x", "colour": "red"},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": "x", "session_id": "s\ud800"},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": "x", "user_location": {"latitude": 91, "longitude": 0}},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": "x", "image_url": "file:///etc/passwd"},
        {"job_id": f"bad-{uuid.uuid4().hex[:6]}", "message": "가" * 4001},
    ]


# -- helpers ----------------------------------------------------------------------------------------------


class Brokers:
    """The broker of a scenario: its Redis, or a fresh virtual host of one RabbitMQ node shared by the run."""

    def __init__(self) -> None:
        self._rabbitmq: LocalRabbitMQ | None = None
        self._vhosts = 0

    def url(self, kind: str, server: LocalRedis) -> str:
        if kind == "redis":
            return server.url
        if self._rabbitmq is None:
            self._rabbitmq = LocalRabbitMQ()
        self._vhosts += 1
        return self._rabbitmq.vhost(f"chaos-{self._vhosts}")

    def restart(self) -> None:
        assert self._rabbitmq is not None
        self._rabbitmq.restart()

    def close(self) -> None:
        if self._rabbitmq is not None:
            self._rabbitmq.stop()


BROKERS = Brokers()


def env_for(url: str, state: Path, broker: str, **extra: str) -> dict[str, str]:
    return {
        "ECO2_REDIS_URL": url,
        "ECO2_BROKER_URL": broker,
        "ECO2_STATE_DIR": str(state),
        "ECO2_LLM_PROVIDER": "offline",
        "OPENAI_API_KEY": "",
        "ECO2_METRICS_PORT": str(free_port()),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def model_env(url: str, state: Path, broker: str, model: str, **extra: str) -> dict[str, str]:
    return env_for(
        url, state, broker, ECO2_LLM_PROVIDER="auto", OPENAI_API_KEY="sk-chaos", OPENAI_BASE_URL=model, **extra
    )


def send(url: str, n: int, prefix: str, message: str = "페트병 어떻게 버려?") -> list[str]:
    backend = Celery(broker=url)
    jobs = [f"{prefix}-{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
    for job_id in jobs:
        backend.send_task(TASK, kwargs={"job_id": job_id, "message": message}, queue="eco2.chat")
    return jobs


def wait_ended(client: redis.Redis, jobs: list[str], timeout_s: float) -> dict[str, tuple[str, float]]:
    """``job -> (outcome, when)`` for every job that ended within ``timeout_s``."""
    ended: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + timeout_s
    while len(ended) < len(jobs) and time.monotonic() < deadline:
        for job_id in jobs:
            if job_id not in ended:
                status = client.hget(f"eco2:chat:{job_id}:snapshot", "status")
                if status in (b"done", b"error"):
                    ended[job_id] = (status.decode(), time.monotonic())
        time.sleep(0.05)
    return ended


def wait_streaming(client: redis.Redis, jobs: list[str], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(int(client.hget(f"eco2:chat:{j}:snapshot", "answer_len") or 0) for j in jobs):
        if time.monotonic() > deadline:
            raise RuntimeError("the answers never started")
        time.sleep(0.05)


def whole(client: redis.Redis, job_id: str, tokens: int) -> bool:
    """One ``done``, last, whose answer is every token of the model's answer and equals its deltas."""
    import json

    entries = [f for _id, f in client.xrange(f"eco2:chat:{job_id}:events")]
    terminals = [e for e in entries if e[b"type"] in (b"done", b"error")]
    if len(terminals) != 1 or entries[-1] is not terminals[0] or terminals[0][b"type"] != b"done":
        return False
    text = ""
    for entry in entries:
        text = "" if entry[b"type"] == b"reset" else text + entry.get(b"delta", b"").decode()
    answer = json.loads(terminals[0][b"data"])["answer"]
    return bool(answer == text and answer.count("<") == tokens)


def scrape(port: str, name: str) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


# -- scenarios --------------------------------------------------------------------------------------------
def poison(tmp: Path, chats: int, kind: str) -> Row:
    with LocalRedis() as server:
        broker = BROKERS.url(kind, server)
        env = env_for(server.url, tmp / "state", broker)
        client = redis.Redis.from_url(server.url)
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp / "poison.log") as worker:
            pids = set(worker.children())
            messages = poison_messages()
            with Connection(broker) as conn:
                producer = conn.Producer()
                for queue, body, content_type, encoding, headers in messages:
                    producer.publish(
                        body, exchange="", routing_key=queue, content_type=content_type,
                        content_encoding=encoding, headers=headers, serializer=None,
                    )  # fmt: skip
            backend = Celery(broker=broker)
            inputs = bad_inputs()
            for kwargs in inputs:
                backend.send_task(TASK, kwargs=kwargs, queue="eco2.chat")
            time.sleep(3)
            jobs = send(broker, chats, "after-poison")
            ended = wait_ended(client, jobs, 60)
            refused = client.xlen("eco2:chat:rejected")
            named = [k["job_id"] for k in inputs if isinstance(k.get("job_id"), str)]
            named += [f"p-{kind}" for kind in ("retries", "expires", "eta", "limit", "id")]  # may reach a stream
            errored = sum(1 for j in named if client.hget(f"eco2:chat:{j}:snapshot", "status") == b"error")
            counted = scrape(env["ECO2_METRICS_PORT"], "chat_rejected_messages_total")
            alive = worker.proc.poll() is None and set(worker.children()) == pids
        kinds = len(messages) + len(inputs)
        accounted = refused + errored
        done = sum(1 for o, _ in ended.values() if o == "done")
        measured = (
            f"{kinds} kinds: {refused} rejected, {errored} error events, {counted:.0f} counted; worker up: {alive}"
        )
        met = alive and accounted >= kinds and done == chats
        return Row("poison", chats, done, chats - done, chats - len(ended), measured, ">= 30 kinds accounted", met)


def kill(tmp: Path, chats: int, kind: str) -> Row:
    with (
        LocalRedis() as server,
        running("--intent-ms", "50", "--first-token-ms", "100", "--token-ms", "50") as model,
    ):
        broker = BROKERS.url(kind, server)
        env = model_env(server.url, tmp / "state", broker, model)
        client = redis.Redis.from_url(server.url)
        one = ["--processes", "1"]
        doomed = Worker(env, pool=None, concurrency=None, launcher="eco2", extra_args=one, log_path=tmp / "a.log")
        jobs = send(broker, chats, "kill")
        try:
            wait_streaming(client, jobs)
            doomed.proc.kill()
            doomed.proc.wait(10)
        finally:
            doomed.stop()
        with Worker(env, pool=None, concurrency=None, launcher="eco2", extra_args=one, log_path=tmp / "b.log"):
            started = time.monotonic()
            ended = wait_ended(client, jobs, 60)
        complete = sum(1 for j in jobs if whole(client, j, 60))
        took = max((t for _o, t in ended.values()), default=started) - started
        measured = f"{complete}/{chats} whole answers, last {took:.1f} s after the replacement started"
        bound_s = 30 if kind == "redis" else 10  # AMQP requeues a dead consumer's messages at once
        return Row(
            "kill",
            chats,
            complete,
            0,
            chats - len(ended),
            measured,
            f"all whole, <= {bound_s} s",
            complete == chats and took <= bound_s,
        )


def restarted_mid_answer(tmp: Path, chats: int, kind: str, which: str, token_ms: str) -> Row:
    """Chats streaming when ``which`` server (redis or broker) is restarted: every answer must end whole."""
    with (
        LocalRedis() as server,
        running("--intent-ms", "50", "--first-token-ms", "100", "--token-ms", token_ms) as model,
    ):
        broker = BROKERS.url(kind, server)
        env = model_env(server.url, tmp / "state", broker, model)
        client = redis.Redis.from_url(server.url)
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp / f"{which}.log"):
            jobs = send(broker, chats, f"{which}-restart")
            wait_streaming(client, jobs)
            server.restart() if which == "redis" else BROKERS.restart()
            restarted = time.monotonic()
            ended = wait_ended(client, jobs, 90)
        complete = sum(1 for j in jobs if whole(client, j, 60))
        took = max((t for _o, t in ended.values()), default=restarted) - restarted
        measured = f"{complete}/{chats} whole answers, last {took:.1f} s after the {which} was back"
        row = f"{which}-restart"
        return Row(row, chats, complete, 0, chats - len(ended), measured, "0 lost", complete == chats)


def redis_restart(tmp: Path, chats: int, kind: str) -> Row:
    return restarted_mid_answer(tmp, chats, kind, "redis", token_ms="50")


def broker_restart(tmp: Path, chats: int, kind: str) -> Row | None:
    """RabbitMQ restarted mid-answer (with the Redis broker this is the redis-restart row: no row)."""
    if kind == "redis":
        return None
    # Answers of 12 s: still streaming when the node is back (a restart takes ~8 s).
    return restarted_mid_answer(tmp, chats, kind, "broker", token_ms="200")


def redis_empty(tmp: Path, chats: int, kind: str) -> Row:
    with LocalRedis() as server:
        env = env_for(server.url, tmp / "state", BROKERS.url(kind, server))
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp / "empty.log"):
            time.sleep(1)
            server.restart(keep_data=False)
            lost_at = time.monotonic()
            noticed = None
            while time.monotonic() - lost_at < 30:
                if scrape(env["ECO2_METRICS_PORT"], "eco2_redis_data_lost_total") >= 1:
                    noticed = time.monotonic() - lost_at
                    break
                time.sleep(0.2)
        measured = f"noticed after {noticed:.1f} s" if noticed is not None else "not noticed in 30 s"
        return Row("redis-empty", 0, 0, 0, 0, measured, "counted and logged", noticed is not None)


def model_hang(tmp: Path, chats: int, kind: str) -> Row:
    with LocalRedis() as server, running("--intent-ms", "600000", "--first-token-ms", "600000") as model:
        broker = BROKERS.url(kind, server)
        env = model_env(
            server.url, tmp / "state", broker, model, ECO2_OPENAI_TIMEOUT_S="2", ECO2_OPENAI_INTENT_TIMEOUT_S="2",
            ECO2_BREAKER_FAIL_MAX="5", ECO2_BREAKER_RESET_S="300",
        )  # fmt: skip
        client = redis.Redis.from_url(server.url)
        times: list[float] = []
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp / "hang.log"):
            for n in range(3 + chats):
                sent = time.monotonic()
                (job,) = send(broker, 1, f"hang-{n}")
                wait_ended(client, [job], 60)
                times.append(time.monotonic() - sent)
        after = times[3:]
        measured = (
            f"chats before the breaker: {', '.join(f'{t:.1f}' for t in times[:3])} s; after: max {max(after):.2f} s"
        )
        return Row(
            "model-hang", len(times), len(times), 0, 0, measured, "open in 5 calls, then <= 2 s", max(after) <= 2
        )


def deadline(tmp: Path, chats: int, kind: str) -> Row:
    with LocalRedis() as server, running("--intent-ms", "600000") as model:
        broker = BROKERS.url(kind, server)
        env = model_env(
            server.url, tmp / "state", broker, model, ECO2_JOB_TIMEOUT_S="5", ECO2_OPENAI_INTENT_TIMEOUT_S="60"
        )
        client = redis.Redis.from_url(server.url)
        with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=tmp / "deadline.log"):
            sent = time.monotonic()
            jobs = send(broker, chats, "deadline")
            ended = wait_ended(client, jobs, 30)
        latest = max((t for _o, t in ended.values()), default=sent) - sent
        errors = sum(1 for o, _ in ended.values() if o == "error")
        measured = f"all ended {latest:.1f} s after being sent, under a 5 s deadline"
        return Row(
            "deadline",
            chats,
            0,
            errors,
            chats - len(ended),
            measured,
            "<= deadline + 1 s",
            latest <= 6 and len(ended) == chats,
        )


SCENARIOS: dict[str, Callable[[Path, int, str], Row | None]] = {
    "poison": poison,
    "kill": kill,
    "redis-restart": redis_restart,
    "broker-restart": broker_restart,
    "redis-empty": redis_empty,
    "model-hang": model_hang,
    "deadline": deadline,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--brokers", default="redis,amqp", help="comma-separated: redis, amqp")
    parser.add_argument("--chats", type=int, default=6)
    args = parser.parse_args()
    rows: list[tuple[str, Row]] = []
    try:
        for kind in [k.strip() for k in args.brokers.split(",") if k.strip()]:
            for name in [n.strip() for n in args.only.split(",") if n.strip()]:
                with tempfile.TemporaryDirectory() as tmp:
                    row = SCENARIOS[name](Path(tmp), args.chats, kind)
                if row is None:  # not a fault of this broker
                    continue
                rows.append((kind, row))
                print(f"{row.scenario} ({kind}): {row.measured} ({'met' if row.met else 'NOT met'})", flush=True)
    finally:
        BROKERS.close()
    print("\n| scenario | broker | chats | done | errors | lost | measured | goal | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, r in rows:
        cells = (r.scenario, kind, r.chats, r.done, r.errors, r.lost, r.measured, r.goal, "yes" if r.met else "no")
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
