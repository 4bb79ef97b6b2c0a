"""``eco2 celery-exporter``: run danihodovic/celery-exporter from a virtualenv of its own.

Why a virtualenv of its own: ``prometheus-exporter-celery`` pins ``redis<6`` and
``prometheus-client<0.22`` while eco2 needs newer ones, and its wheel installs a top-level package named
``src``. Installed into eco2's environment it would downgrade eco2's dependencies, so this command keeps it
in a private venv (created on first use, the version pinned here) and ``exec``s it from there.

What the exporter needs from eco2: it builds ``celery_task_*_total`` and ``celery_worker_up`` from Celery
task events, so workers must send them (``worker_send_task_events``, on in ``tasks/celeryconfig.py``);
``celery_task_sent_total`` also needs ``task_send_sent_event`` on every producer, including backends that
enqueue ``eco2.chat.process`` by name: the queue is only in that event, so without it the exporter labels
the task ``queue_name="celery"``. Queue lengths (``celery_queue_length``) are read from the broker on
each scrape for the queues passed with ``--queues`` (eco2's queues by default) and those that live workers
report.

Ports: 9808 is the exporter's own default and is not eco2's worker metrics port (9191) or Flower's (5555).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from eco2.config import Settings
from eco2.domain.registry import ALL_QUEUES
from eco2.errors import ConfigError

EXPORTER_VERSION = "0.11.2"
"""The release this command installs; 0.11.2 installs and runs on CPython 3.11 (it needs >=3.11,<3.13)."""
REQUIREMENTS: tuple[str, ...] = (
    f"prometheus-exporter-celery=={EXPORTER_VERSION}",
    # The exporter pins redis<6 but not kombu: kombu 5.7's Redis transport refuses redis<6.1 at connect time
    # and moved `packaging` to an extra, so an unpinned install crashes on start. These three work together.
    "celery==5.6.3",
    "kombu==5.6.2",
    "redis==5.3.1",
)
"""What goes into the exporter's venv; changing any of it reinstalls on the next start."""
DEFAULT_PORT = 9808
DEFAULT_HOST = "127.0.0.1"
"""Loopback, as every endpoint eco2 opens by default (docs/configuration.md); ``--host 0.0.0.0`` lets a
scraper on another host in."""
RETRY_INTERVAL_S = 5
"""The exporter exits on the first broker error by default; retrying keeps its counters over a Redis restart."""
MARKER = "eco2-celery-exporter.txt"
"""Written into the venv after a complete install; holds the requirements, so a new pin reinstalls."""
BROKER_ENV = "CELERY_EXPORTER_BROKER_URL"
"""How the broker URL reaches the exporter: in its environment, not its argv, where ``ps`` shows passwords."""

# The wheel has no console script (upstream runs a cli.py that is not in the wheel), so call its click
# command the same way, with the same environment prefix.
_LAUNCHER = "from src.cli import cli; cli(prog_name='celery-exporter', auto_envvar_prefix='CELERY_EXPORTER')"


def add_parser(sub: Any) -> None:
    """Register the ``celery-exporter`` subcommand."""
    configure(
        sub.add_parser(
            "celery-exporter",
            help="run the Prometheus celery-exporter (installed in its own venv on first use)",
            description="Run prometheus-exporter-celery against eco2's broker. Arguments after -- go to the "
            "exporter and win over the defaults set here (e.g. -- --log-level DEBUG).",
        )
    )


def configure(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments to ``p`` (shared by ``eco2`` and ``python -m eco2.cli.exporter``)."""
    p.add_argument("--venv", type=Path, help="exporter virtualenv (default: $ECO2_STATE_DIR/celery-exporter-venv)")
    p.add_argument("--python", default=sys.executable, help="interpreter that creates the venv (3.11 or 3.12)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port of /metrics (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--install-only", action="store_true", help="create the venv, print its python, and exit")
    p.add_argument("exporter_args", nargs=argparse.REMAINDER, help="arguments for the exporter, after --")
    p.set_defaults(func=run)


def venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv``."""
    return venv / "bin" / "python"


def ensure_venv(venv: Path, python: str = sys.executable, requirements: Sequence[str] = REQUIREMENTS) -> Path:
    """Create ``venv`` with ``requirements`` unless a complete install of them is there; return its python.

    An exclusive lock next to the venv lets concurrent callers (several test processes, two replicas on a
    shared volume) wait for one install instead of racing pip. The marker is written last, so an
    interrupted install is redone on the next call. ``-I`` keeps eco2's ``PYTHONPATH`` out of both steps.
    Raises :class:`subprocess.CalledProcessError` when ``venv`` or ``pip`` fails.
    """
    venv = venv.expanduser().absolute()
    venv.parent.mkdir(parents=True, exist_ok=True)
    marker = venv / MARKER
    wanted = "\n".join(requirements)
    exe = venv_python(venv)
    with (venv.parent / f".{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists() and marker.exists() and marker.read_text().strip() == wanted:
            return exe
        print(f"eco2: installing {requirements[0]} into {venv} (once)", file=sys.stderr, flush=True)
        if not exe.exists():
            subprocess.run([python, "-I", "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(exe), "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
        )
        marker.write_text(wanted + "\n")
    return exe


def exporter_argv(python: Path, port: int, host: str, queues: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """The exporter's command line; ``extra`` comes last so its flags override these defaults (click)."""
    passed = list(extra)
    if passed[:1] == ["--"]:
        del passed[0]
    return [
        str(python),
        "-I",  # the wheel's package is named "src": a ./src in the working directory must not shadow it
        "-c",
        _LAUNCHER,
        "--host",
        host,
        "--port",
        str(port),
        "--queues",
        ",".join(queues),
        "--retry-interval",
        str(RETRY_INTERVAL_S),
        *passed,
    ]


def exporter_env(broker_url: str, base: Mapping[str, str]) -> dict[str, str]:
    """The exporter's environment: ``base`` plus the broker URL."""
    return {**base, BROKER_ENV: broker_url}


def run(args: argparse.Namespace) -> int:
    """Install the exporter if needed, then replace this process with it (or exit with ``--install-only``)."""
    settings = Settings.from_env()
    venv: Path = args.venv or settings.state_dir / "celery-exporter-venv"
    try:
        exe = ensure_venv(venv, python=args.python)
    except subprocess.CalledProcessError as exc:
        print(
            f"eco2: installing {REQUIREMENTS[0]} failed (exit {exc.returncode}); see the output above", file=sys.stderr
        )
        return 1
    if args.install_only:
        print(exe)
        return 0
    argv = exporter_argv(exe, args.port, args.host, [q.value for q in ALL_QUEUES], args.exporter_args)
    return _exec(exe, argv, exporter_env(settings.broker_url, os.environ))


def _exec(exe: Path, argv: list[str], env: Mapping[str, str]) -> NoReturn:
    """Become the exporter: one process for supervisors to signal and for Kubernetes to watch."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(exe, argv, env)  # noqa: S606 - an argv list, no shell involved


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eco2.cli.exporter``: the same command without the rest of the ``eco2`` CLI."""
    p = argparse.ArgumentParser(prog="python -m eco2.cli.exporter", description=__doc__.splitlines()[0])
    configure(p)
    args = p.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"eco2: configuration error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
