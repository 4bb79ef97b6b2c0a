"""``eco2 demo``: the README's main job on the embedded default.

Starts a private redis-server and a Celery worker consuming every queue, sends sample chats of several
intents (including a follow-up in one session), and shows each answer streaming live. No API keys needed,
and no character service: without ``ECO2_CHARACTER_GRPC_ADDR`` the worker serves the characters itself.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from typing import Any

from eco2.cli.chat import EXIT_ERROR, EXIT_OK, send_and_follow
from eco2.cli.render import LiveRenderer
from eco2.config import Settings

SAMPLES: tuple[tuple[str, str | None], ...] = (
    ("페트병 어떻게 버려?", "demo-session"),
    ("그럼 캔은?", "demo-session"),
    ("소파 버리는 방법 알려줘", None),
    ("치킨 먹고 남은 뼈는 음식물쓰레기야?", None),
    ("오늘 비 와?", None),
    ("이코 캐릭터는 누구야?", None),
    ("안녕하세요! 탄소중립이 뭐야?", None),
)


def add_parser(sub: Any) -> None:
    """Register the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="start redis + a worker, send sample chats, show the answers")
    p.add_argument("--redis-url", help="use this Redis instead of starting one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo end to end; exit non-zero if any sample chat did not finish with ``done``."""
    from eco2.localrun import LocalRedis, Worker

    local = None if args.redis_url else LocalRedis()
    url = args.redis_url or (local.url if local else "")
    state = tempfile.mkdtemp(prefix="eco2-demo-")
    env = {
        "ECO2_REDIS_URL": url,
        "ECO2_STATE_DIR": state,
        "ECO2_LLM_PROVIDER": os.environ.get("ECO2_LLM_PROVIDER", "auto"),
    }
    os.environ.update(env)
    failures = 0
    try:
        print(f"eco2 demo: redis at {url}; starting eco2 worker on every queue…", flush=True)
        # The worker exactly as `eco2 worker` starts it: the default pool, one process per core.
        with Worker(env, pool=None, concurrency=None, launcher="eco2"):
            # The worker's settings (the same environment), so a broker or stream override set by the user
            # applies to both sides.
            settings = Settings.from_env()
            session = f"demo-{uuid.uuid4().hex[:6]}"
            for message, session_id in SAMPLES:
                job_id = f"demo-{uuid.uuid4().hex[:10]}"
                kwargs: dict[str, Any] = {"job_id": job_id, "message": message}
                if session_id:
                    kwargs["session_id"] = session
                print(f"\n>>> {message}", flush=True)
                renderer = LiveRenderer(job_id)
                send_and_follow(settings, kwargs, renderer, timeout=60)
                outcome = renderer.outcome
                print(
                    f"<<< intent={outcome.intent} status={outcome.status} "
                    f"subagents={outcome.data.get('subagents', {})}",
                    flush=True,
                )
                failures += outcome.status != "done"
    finally:
        if local is not None:
            local.stop()
    print(f"\neco2 demo: {len(SAMPLES) - failures}/{len(SAMPLES)} chats answered", flush=True)
    return EXIT_OK if failures == 0 else EXIT_ERROR
