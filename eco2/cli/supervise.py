"""Keeps several worker processes of one host running: ``eco2 worker`` with more than one process.

Why: a threads pool streams hundreds of answers at once, but one Python process runs on one core at a time.
One Celery worker per core uses the whole host, the way a prefork pool did, without giving up the threads.
Each is a plain ``celery worker`` with its own node name; this parent only starts them, forwards the
shutdown signals it gets (SIGTERM, SIGINT, SIGQUIT) and starts again one that died on its own, after a
backoff (so a worker that cannot start does not spin). It exits once every child has exited after a
shutdown signal, with the worst exit code among them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from types import FrameType

log = logging.getLogger(__name__)

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_S = 60.0
"""A child that ran this long before dying is restarted at the shortest backoff again."""


class Supervisor:
    """Runs one process per command until told to stop."""

    def __init__(self, commands: Sequence[Sequence[str]], env: Mapping[str, str]) -> None:
        self._commands = [list(c) for c in commands]
        self._env = dict(env)
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._started: dict[int, float] = {}
        self._failures: dict[int, int] = {}
        self._stopping = False
        self._codes: list[int] = []

    def run(self) -> int:
        """Start every child and supervise them; returns the exit code for this process."""
        previous = {sig: signal.signal(sig, self._forward) for sig in FORWARDED}
        try:
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _supervise(self) -> int:
        for index in range(len(self._commands)):
            self._start(index)
        restarts: dict[int, float] = {}
        while self._children or restarts:
            now = time.monotonic()
            for index in [i for i, at in restarts.items() if at <= now and not self._stopping]:
                del restarts[index]
                self._start(index)
            if self._stopping:
                restarts.clear()
            ended = self._reap(timeout_s=0.5)
            for index, code in ended:
                if self._stopping:
                    self._codes.append(code)
                    continue
                delay = self._backoff(index)
                log.warning("worker %d exited with %s; starting it again in %.0f s", index + 1, code, delay)
                restarts[index] = time.monotonic() + delay
        return max((abs(c) for c in self._codes), default=0)

    def _start(self, index: int) -> None:
        # A process group of its own: a terminal's Ctrl-C reaches only this parent, which passes it on once
        # (Celery takes a second SIGINT as the order for a cold shutdown).
        self._children[index] = subprocess.Popen(self._commands[index], env=self._env, process_group=0)
        self._started[index] = time.monotonic()

    def _reap(self, timeout_s: float) -> list[tuple[int, int]]:
        """Children that exited within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            ended = [(i, code) for i, proc in self._children.items() if (code := proc.poll()) is not None]
            for index, _code in ended:
                del self._children[index]
            if ended or time.monotonic() >= deadline:
                return ended
            time.sleep(0.05)

    def _backoff(self, index: int) -> float:
        if time.monotonic() - self._started.get(index, 0.0) >= STABLE_S:
            self._failures[index] = 0
        failures = self._failures.get(index, 0)
        self._failures[index] = failures + 1
        return BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        """Pass a shutdown signal on to every child; from now on exits are final."""
        self._stopping = True
        for proc in list(self._children.values()):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signum)


def node_names(base: str | None, count: int) -> list[str]:
    """One Celery node name per process: ``NAME@HOST`` becomes ``NAME-1@HOST``, ``NAME-2@HOST``, ..."""
    name, _, host = (base or "eco2@%h").partition("@")
    return [f"{name}-{n}@{host or '%h'}" for n in range(1, count + 1)]
