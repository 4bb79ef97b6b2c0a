"""The ``eco2`` command line."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence

from eco2 import logredact
from eco2.cli import character_server, chat, demo, doctor, exporter, gateway, prices, small, worker
from eco2.errors import ConfigError


def parser() -> argparse.ArgumentParser:
    """All subcommands."""
    p = argparse.ArgumentParser(prog="eco2", description="Eco² chat worker tools")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)
    chat.add_parser(sub)
    small.add_parsers(sub)
    demo.add_parser(sub)
    exporter.add_parser(sub)
    doctor.add_parser(sub)
    character_server.add_parser(sub)
    gateway.add_parser(sub)
    prices.add_parser(sub)
    worker.add_parser(sub)
    return p


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """What redis-py and kombu raise when their server cannot be reached (their messages name the address,
    never a password)."""
    import redis

    from eco2.dispatch.producer import BrokerUnreachable

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerUnreachable)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eco2`` console script."""
    logredact.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        # Everything after "worker" belongs to celery, options included: argparse would eat them.
        return worker.start(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"eco2: configuration error: {exc}", file=sys.stderr)
        return 2
    except unreachable_errors() as exc:  # Redis or the broker is down: one line, not a traceback
        reason = re.sub(r"//[^/@\s]+@", "//", logredact.redact(str(exc)))  # no user:password of a URL
        print(f"eco2: cannot reach Redis or the broker: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
