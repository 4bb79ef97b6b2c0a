"""``eco2 gateway``: the HTTP gateway (enqueue, SSE, snapshot, the chat page) on uvicorn."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``gateway`` subcommand."""
    p = sub.add_parser("gateway", help="serve the HTTP gateway: POST /v1/chats, SSE streams, the chat page")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; settings come from the worker's environment (docs/gateway.md)."""
    import uvicorn

    from eco2.gateway.app import create_app
    from eco2.gateway.settings import GatewaySettings

    app = create_app(GatewaySettings.from_env())  # a configuration error is reported before listening
    # No access log: its request lines are not ours to scrub; the gateway counts requests in /metrics.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info", timeout_graceful_shutdown=5)
    return 0
