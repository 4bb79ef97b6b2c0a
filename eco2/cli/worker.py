"""``eco2 worker``: the start-up script of a worker host's pool.

It prepares the shared multiprocess metrics directory (``PROMETHEUS_MULTIPROC_DIR``) before Python's
Prometheus client is imported anywhere, wipes it when it is the first eco2 worker on the host (stale files
of a previous boot would otherwise be summed forever), then replaces itself with ``celery -A tasks worker``
and the given arguments. Each worker holds a shared lock on the directory for its whole life, which is how
the next one knows whether it is first.

With a threads pool (the default: a chat mostly waits on its model, so a slot must not be a process) one
process uses one core, so on a host with several cores it starts one Celery worker per core instead
(``--processes N`` or ``ECO2_WORKER_PROCESSES``; ``eco2.cli.supervise`` keeps them running).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from eco2.cli.supervise import Supervisor, node_names
from eco2.config import Settings
from eco2.errors import ConfigError

LOCK_NAME = ".host.lock"


def add_parser(sub: Any) -> None:
    """Register the ``worker`` subcommand."""
    p = sub.add_parser(
        "worker",
        help="start a Celery worker with the host's shared metrics registry (args go to celery worker)",
        add_help=False,
    )
    p.add_argument("celery_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def metrics_dir(settings: Settings) -> Path:
    """The multiprocess directory: configured, or under the state directory."""
    return settings.metrics_dir or settings.state_dir / "metrics"


def prepare(directory: Path) -> int:
    """Create the directory, wipe it if no other worker of the host holds it; return the lock's fd.

    The fd is inheritable and stays open across ``exec``: the Celery process keeps the shared lock.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # other workers of this host are alive: their files are live data
    else:
        for entry in directory.iterdir():
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    fcntl.flock(fd, fcntl.LOCK_SH)
    os.set_inheritable(fd, True)
    return fd


def run(args: argparse.Namespace) -> int:
    """Entry from the parser (``eco2 worker`` with no celery options)."""
    return start(args.celery_args)


def _app_option(args: list[str]) -> tuple[str, list[str]]:
    """``-A/--app MODULE`` among the worker's arguments (an app module wrapping ``tasks``), else ``tasks``."""
    for n, arg in enumerate(args):
        if arg in ("-A", "--app") and n + 1 < len(args):
            return args[n + 1], args[:n] + args[n + 2 :]
        if arg.startswith("--app="):
            return arg.split("=", 1)[1], args[:n] + args[n + 1 :]
    return "tasks", args


def take_option(args: list[str], short: str | None, long: str) -> tuple[str | None, list[str]]:
    """The value of ``short``/``long`` among ``args`` (``-P x``, ``--pool x``, ``--pool=x``, ``-Px``) and the
    arguments without it."""
    for n, arg in enumerate(args):
        if arg in (short, long) and n + 1 < len(args):
            return args[n + 1], args[:n] + args[n + 2 :]
        if arg.startswith(f"{long}="):
            return arg.split("=", 1)[1], args[:n] + args[n + 1 :]
        if short and arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            return arg[len(short) :], args[:n] + args[n + 1 :]
    return None, args


def process_count(settings: Settings, pool: str, requested: str | None) -> int:
    """Worker processes to start: asked for, else configured, else one per core for a threads pool.

    A prefork pool already has a process per slot, and solo is one slot: those run as one worker.
    """
    if requested is not None:
        try:
            return max(1, int(requested))
        except ValueError:
            raise ConfigError(f"--processes must be an integer, got {requested!r}") from None
    if settings.worker_processes:
        return settings.worker_processes
    return (os.cpu_count() or 1) if pool == "threads" else 1


def planned_names(environ: dict[str, str], celery_args: list[str], name: str) -> list[str]:
    """The Celery node names ``eco2 worker CELERY_ARGS -n NAME`` will start under ``environ``."""
    requested, args = take_option(list(celery_args), None, "--processes")
    pool, _ = take_option(args, "-P", "--pool")
    settings = Settings.from_env(environ)
    count = process_count(settings, pool or settings.worker_pool, requested)
    return [name] if count == 1 else node_names(name, count)


def start(celery_args: list[str]) -> int:
    """Prepare the metrics directory and run ``celery -A tasks worker CELERY_ARGS`` (``-A`` may name an app
    module that wraps ``tasks``, as the benchmarks and fault-injection tests do): in this process, or as
    one supervised worker per core (see the module docstring)."""
    settings = Settings.from_env()
    directory = metrics_dir(settings)
    prepare(directory)
    args = [a for a in celery_args if a != "--"]
    app, args = _app_option(args)
    requested, args = take_option(args, None, "--processes")
    pool, _ = take_option(args, "-P", "--pool")
    pool = pool or settings.worker_pool
    # SIGTERM (what Kubernetes and systemd send) becomes Celery's cold shutdown, which starts with the soft
    # shutdown (``worker_soft_shutdown_timeout``): running tasks get that long, then go back to the queue
    # (acks_late). Celery's own SIGTERM is a warm shutdown that waits for every task however long it runs,
    # so the pod would be SIGKILLed and the messages stuck until the visibility timeout.
    env = {"REMAP_SIGTERM": "SIGQUIT", **os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    argv = [sys.executable, "-m", "celery", "-A", app, "worker", *args]
    count = process_count(settings, pool, requested)
    if count == 1:
        os.execve(sys.executable, argv, env)  # noqa: S606 - replacing this process is the point
    base, args = take_option(args, "-n", "--hostname")
    commands = [[*argv[:6], *args, "-n", name] for name in node_names(base, count)]
    return Supervisor(commands, env).run()
