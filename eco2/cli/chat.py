"""``eco2 chat``: send one message to the running workers (or run it inline) and show the answer live."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any

from eco2.cli.render import LiveRenderer
from eco2.config import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3


def positive_seconds(raw: str) -> float:
    """``--timeout``: a number of seconds above zero (0 would give up before any answer could come)."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds (leave it out to wait the job's timeout)")
    return value


def exit_code(status: str) -> int:
    """The exit status for how a job ended: ``done`` 0, ``error`` 1, anything else (no end seen) 3."""
    return {"done": EXIT_OK, "error": EXIT_ERROR}.get(status, EXIT_TIMEOUT)


def add_parser(sub: Any) -> None:
    """Register the ``chat`` subcommand."""
    p = sub.add_parser("chat", help="send a message and stream the answer")
    p.add_argument("message")
    p.add_argument("--session", help="session id (multi-turn memory)")
    p.add_argument("--user", help="user id")
    p.add_argument("--lat", type=float, help="latitude of the user")
    p.add_argument("--lon", type=float, help="longitude of the user")
    p.add_argument("--image", help="image URL to look at")
    p.add_argument("--job-id", help="job id (default: a new uuid)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--inline", action="store_true", help="run the pipeline in this process (no broker)")
    p.add_argument("--timeout", type=positive_seconds, default=None, help="seconds to wait (default: job timeout + 10)")
    p.set_defaults(func=run)


def build_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The contract kwargs for the message."""
    kwargs: dict[str, Any] = {"job_id": args.job_id or f"cli-{uuid.uuid4().hex}", "message": args.message}
    if args.session:
        kwargs["session_id"] = args.session
    if args.user:
        kwargs["user_id"] = args.user
    if (args.lat is None) != (args.lon is None):
        raise SystemExit("--lat and --lon go together")
    if args.lat is not None:
        kwargs["user_location"] = {"latitude": args.lat, "longitude": args.lon}
    if args.image:
        kwargs["image_url"] = args.image
    return kwargs


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    settings = Settings.from_env()
    kwargs = build_kwargs(args)
    renderer = LiveRenderer(kwargs["job_id"], quiet=args.json)
    timeout = args.timeout if args.timeout is not None else settings.job_timeout_s + 10
    if args.inline:
        _run_inline(settings, kwargs, renderer)
    else:
        send_and_follow(settings, kwargs, renderer, timeout)
    return finish(renderer, args.json)


def _run_inline(settings: Settings, kwargs: dict[str, Any], renderer: LiveRenderer) -> None:
    from eco2.bootstrap import bootstrap_inline

    container, _ = bootstrap_inline(settings, listener=lambda _job, fields: renderer.apply(fields))
    container.service.accept((), kwargs)


def send_and_follow(settings: Settings, kwargs: dict[str, Any], renderer: LiveRenderer, timeout: float) -> None:
    """Enqueue one chat to the running workers and feed its stream to ``renderer`` until it ends."""
    from eco2.bootstrap import redis_client, redis_events
    from eco2.dispatch.producer import ChatProducer

    # Exactly what an external backend does: no eco2 task import, just the public name and queue.
    events = redis_events(settings, redis_client(settings.stream_redis_url))
    rejected_key = f"{settings.stream_prefix}:chat:rejected"
    reused = events.snapshot(kwargs["job_id"]) is not None
    since = _last_id(events.client, rejected_key)
    producer = ChatProducer(settings.broker_url, settings.broker_is_redis)
    try:
        producer.send(kwargs)
    finally:
        producer.close()
    if reused:  # its stream is an earlier job's: the worker refuses this message, and that is the answer
        renderer.reject(_rejection(events.client, rejected_key, since, kwargs["job_id"], timeout))
        return
    for _sid, fields in events.follow(kwargs["job_id"], timeout_s=timeout):
        renderer.apply(fields)


def _last_id(client: Any, key: str) -> str:
    newest = client.xrevrange(key, count=1)
    return str(newest[0][0].decode()) if newest else "0-0"


def _rejection(client: Any, key: str, since: str, job_id: str, timeout_s: float) -> dict[str, str]:
    """The worker's record of refusing ``job_id`` (in ``{prefix}:chat:rejected``), once it is there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for _stream, entries in client.xread({key: since}, count=100, block=500) or []:
            for sid, fields in entries:
                since = sid.decode()
                record = {k.decode(): v.decode() for k, v in fields.items()}
                if record.get("job_id") == job_id:
                    return record
    return {"code": "no_answer", "message": "the worker did not answer in time (are workers running?)"}


def finish(renderer: LiveRenderer, as_json: bool) -> int:
    """Print the JSON summary if asked; map the outcome to an exit code."""
    outcome = renderer.outcome
    if as_json:
        data = outcome.data
        print(
            json.dumps(
                {
                    "job_id": outcome.job_id,
                    "status": outcome.status,
                    "intent": outcome.intent,
                    "answer": outcome.answer,
                    "sources": data.get("sources", []),
                    "subagents": data.get("subagents", {}),
                    "partial": data.get("partial", False),
                    "error": data if outcome.status == "error" else None,
                },
                ensure_ascii=False,
            )
        )
    if outcome.status not in ("done", "error"):
        print(f"eco2: no answer for {outcome.job_id} in time (are workers running?)", file=sys.stderr)
    return exit_code(outcome.status)
