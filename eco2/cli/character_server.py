"""``eco2 character-server``: serve ``character.v1.CharacterService`` (and gRPC health) from the catalogue.

Workers call it when ``ECO2_CHARACTER_GRPC_ADDR`` names it (``localhost:50051`` for this command's default
on the same host); with the variable unset each worker process serves the catalogue itself, so this command
is for a shared service, as the Helm chart runs it. It stops gracefully on SIGTERM (health goes
NOT_SERVING, running calls get ``--grace`` seconds), which is what Kubernetes sends before killing a pod.
With ``--tls-cert`` and ``--tls-key`` it serves TLS only; clients then set ``ECO2_CHARACTER_GRPC_TLS=true``
(and ``ECO2_CHARACTER_GRPC_CA`` for a private CA).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eco2.errors import ConfigError


def add_parser(sub: Any) -> None:
    """Register the ``character-server`` subcommand."""
    configure(sub.add_parser("character-server", help="run the character gRPC service (character.v1)"))


def configure(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments to ``p`` (shared by ``eco2`` and ``python -m eco2.cli.character_server``)."""
    from eco2.subagents.character.server import DEFAULT_ADDR

    p.add_argument(
        "--addr", default=DEFAULT_ADDR, help=f"host:port to listen on (default {DEFAULT_ADDR}; port 0 picks one)"
    )
    p.add_argument("--tls-cert", type=Path, help="PEM certificate chain (serve TLS; needs --tls-key)")
    p.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    p.add_argument("--catalogue", type=Path, help="catalogue YAML to serve (default: the one bundled with eco2)")
    p.add_argument("--max-workers", type=int, default=8, help="threads serving calls (default 8)")
    p.add_argument("--grace", type=float, default=5.0, help="seconds running calls get on SIGTERM (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the server, print where it listens, and serve until SIGTERM/SIGINT."""
    from eco2.subagents.character.catalogue import CatalogueError, load_catalogue
    from eco2.subagents.character.server import TlsFiles, run_until_signalled, start_server

    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert else None
    try:
        catalogue = load_catalogue(args.catalogue)
    except CatalogueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        server = start_server(args.addr, catalogue, tls=tls, max_workers=args.max_workers)
    except OSError as exc:
        print(f"eco2 character-server: {exc}", file=sys.stderr)
        return 1
    host = args.addr.rsplit(":", 1)[0]
    # One parsable line: scripts and tests that asked for port 0 learn the port from it.
    print(f"character service listening on {host}:{server.port} (tls={'on' if tls else 'off'})", flush=True)
    run_until_signalled(server, args.grace)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eco2.cli.character_server``: the same command without the ``eco2`` entry point."""
    p = argparse.ArgumentParser(prog="eco2 character-server", description=__doc__)
    configure(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except ConfigError as exc:
        print(f"eco2 character-server: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
