"""A real Prometheus server (Debian's ``prometheus`` binary) scraping given targets every second."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from eco2.localrun import free_port, stop_process


class LocalPrometheus:
    """Scrapes ``targets`` (``host:port``) every second, ``slow_targets`` every 5 s (job ``celery-exporter``:
    its /metrics takes ~2 s); evaluates ``rule_files`` every second."""

    def __init__(self, targets: list[str], rule_files: Sequence[Path] = (), slow_targets: Sequence[str] = ()) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed (.ci/setup installs Debian's prometheus)")
        self._dir = Path(tempfile.mkdtemp(prefix="eco2-prom-server-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = self._dir / "prometheus.yml"
        rules = "\n".join(f"  - {path}" for path in rule_files)
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            + (f"rule_files:\n{rules}\n" if rule_files else "")
            + "scrape_configs:\n  - job_name: eco2\n    static_configs:\n"
            + f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
            + (
                "  - job_name: celery-exporter\n    scrape_interval: 5s\n    scrape_timeout: 4s\n"
                + f"    static_configs:\n      - targets: [{', '.join(repr(t) for t in slow_targets)}]\n"
                if slow_targets
                else ""
            )
        )
        self._proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self._dir / "log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready")

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query's JSON response (``status`` is ``error`` for a query that does not parse)."""
        response = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        result: dict[str, Any] = response.json()
        return result

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last error."""
        active: list[dict[str, Any]] = requests.get(self.url + "/api/v1/targets", timeout=5).json()["data"][
            "activeTargets"
        ]
        return active

    def targets_up(self) -> bool:
        """Whether every target has been scraped successfully."""
        active = self.targets()
        return bool(active) and all(t["health"] == "up" for t in active)

    def stop(self) -> None:
        """Stop the server and remove its data."""
        stop_process(self._proc, 10)
        shutil.rmtree(self._dir, ignore_errors=True)
