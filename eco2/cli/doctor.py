"""``eco2 doctor``: a table of every upstream (configured, reachable, latency, breaker state)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from eco2.config import Settings


def add_parser(sub: Any) -> None:
    """Register the ``doctor`` subcommand."""
    p = sub.add_parser("doctor", help="check every upstream: configured, reachable, latency, breaker")
    p.add_argument("--json", action="store_true", help="one JSON object per upstream")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per probe")
    p.set_defaults(func=run)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 1 when a configured upstream is unreachable or a breaker is open."""
    from eco2.doctor import healthy, run_checks

    checks = run_checks(Settings.from_env(), timeout_s=args.timeout)
    if args.json:
        for c in checks:
            print(json.dumps(dataclasses.asdict(c), ensure_ascii=False))
    else:
        header = ("upstream", "used by", "configured", "reachable", "latency ms", "breaker", "detail")
        rows = [header] + [
            (c.name, c.used_by, _cell(c.configured), _cell(c.reachable), _cell(c.latency_ms), c.breaker, c.detail)
            for c in checks
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0 if healthy(checks) else 1
