"""bench/load_k6.sh end to end, shortened: the article's k6 scenario against `eco2 gateway`, the paced
model and `eco2 worker`; every chat ends with `done` and the summary and plot are written (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.workers]

ROOT = Path(__file__).resolve().parents[2]


def test_the_k6_scenario_runs_against_the_gateway_and_writes_its_summary_and_plot(tmp_path: Path) -> None:
    run = subprocess.run(
        ["bash", str(ROOT / "bench" / "load_k6.sh"), "--scale", "0.03", "--out", str(tmp_path)],
        env={"PYTHON": sys.executable, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = (tmp_path / "summary.md").read_text()
    assert "checks passed: 100.00 %" in summary
    assert "HTTP requests failed: 0.00 %" in summary
    chats = int(summary.split(" chats ended with done")[0].rsplit(" ", 1)[1])
    assert chats >= 20
    for intent in ("waste", "character", "bulk_waste", "general"):
        assert f"| {intent} |" in summary
    png = (tmp_path / "k6.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 20_000
