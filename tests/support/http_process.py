"""A server process under test (Flower, celery-exporter): output in a log file, ready once it answers HTTP."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from eco2.localrun import stop_process

ROOT = Path(__file__).resolve().parents[2]


class HttpProcess:
    """Starts ``argv`` in the repository root and returns once ``ready_url`` answers 200."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        ready_url: str,
        timeout_s: float = 60,
        probe_timeout_s: float = 1,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(list(argv), cwd=ROOT, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(ready_url, timeout=probe_timeout_s).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} not ready after {timeout_s}s:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        """The process's output so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        stop_process(self.proc, 15)
        self._log.close()
