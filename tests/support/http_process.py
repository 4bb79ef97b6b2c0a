"""A server process under test (Flower, celery-exporter): output in a log file, ready once it answers HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from eco2.localrun import stop_process, wait_serving

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
        problem = wait_serving(self.proc, ready_url, timeout_s, probe_timeout_s)
        if problem is not None:
            if self.proc.poll() is None:
                self.stop()
            raise RuntimeError(f"{name} {problem}:\n{self.log()}")

    def log(self) -> str:
        """The process's output so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        stop_process(self.proc, 15)
        self._log.close()
