"""``eco2 classify`` and ``eco2 tail``: small tools around the classifier and the event stream."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from eco2.cli.chat import positive_seconds
from eco2.config import Settings
from eco2.domain.events import StreamKeys

UNKNOWN_GRACE_S = 5.0
"""How long ``tail`` waits for a job it cannot find yet (one just sent may not have reached a worker)."""


def add_parsers(sub: Any) -> None:
    """Register ``classify`` and ``tail``."""
    c = sub.add_parser("classify", help="classify stdin lines, one JSON object per line")
    c.set_defaults(func=classify)
    t = sub.add_parser("tail", help="print a job's events and follow it until it ends")
    t.add_argument("job_id")
    t.add_argument("--after", default="0-0", help="resume after this stream ID")
    t.add_argument("--timeout", type=positive_seconds, default=None, help="give up after this many seconds")
    t.set_defaults(func=tail)


def classify(args: argparse.Namespace) -> int:
    """Read messages from stdin, write ``{"text", "intent", "confidence", "intents"}`` lines."""
    from eco2.bootstrap import default_classifier

    classifier = default_classifier(Settings.from_env())
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = classifier.classify(text)
        print(
            json.dumps(
                {
                    "text": text,
                    "intent": result.primary.value,
                    "confidence": round(result.confidence, 4),
                    "intents": result.names(),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


def _known(events: Any, job_id: str) -> bool:
    keys = StreamKeys.for_job(events.prefix, job_id)
    return bool(events.client.exists(keys.snapshot, keys.events))


def tail(args: argparse.Namespace) -> int:
    """Follow a job's stream from ``--after``; exit 0 on done, 1 on error, 3 when it times out."""
    from eco2.adapters.redis_streams import RedisStreamsEvents
    from eco2.bootstrap import redis_client
    from eco2.cli.chat import EXIT_ERROR, exit_code

    settings = Settings.from_env()
    events = RedisStreamsEvents(redis_client(settings.stream_redis_url), prefix=settings.stream_prefix)
    grace = min(UNKNOWN_GRACE_S, args.timeout or UNKNOWN_GRACE_S)
    until = time.monotonic() + grace
    while not _known(events, args.job_id):
        if time.monotonic() > until:
            print(f"eco2: no job {args.job_id} (no stream, no snapshot, not queued)", file=sys.stderr)
            return EXIT_ERROR
        time.sleep(0.2)
    last_type = ""
    for stream_id, fields in events.follow(args.job_id, after=args.after, timeout_s=args.timeout):
        print(json.dumps({"id": stream_id, **fields}, ensure_ascii=False), flush=True)
        last_type = fields.get("type", "")
    return exit_code(last_type)
