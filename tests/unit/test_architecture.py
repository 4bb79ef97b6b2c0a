"""The import rules docs/architecture.md states hold: import-linter checks them over the real import graph.

The contracts live in setup.cfg (``[importlinter:contract:*]``); ``.ci/run`` runs ``lint-imports`` as well.
A deliberately false rule must be reported broken, so a checker that silently checks nothing would fail here.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("lint-imports is not installed (import-linter is in the dev extras: bash .ci/setup --dev)")
    return found


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_lint_imports(), str(config), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_every_import_rule_of_the_architecture_holds() -> None:
    result = _run(ROOT / "setup.cfg")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_rules_name_what_the_architecture_promises() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    names = {config[section]["name"] for section in config.sections() if section.startswith("importlinter:contract")}
    assert any("inward" in name for name in names)
    assert any("Celery" in name for name in names)
    assert any("gateway" in name for name in names)
    assert any("slices are independent" in name for name in names)
    assert any("Adapters are shared infrastructure" in name for name in names)


def test_a_broken_rule_is_reported(tmp_path: Path) -> None:
    false_rule = tmp_path / "false.ini"
    false_rule.write_text(
        "[importlinter]\nroot_packages =\n    eco2\n\n"
        "[importlinter:contract:false]\nname = the orchestrator never uses the subagent runner\n"
        "type = forbidden\nsource_modules =\n    eco2.orchestrator\nforbidden_modules =\n    eco2.subagents.runner\n"
    )
    result = _run(false_rule)
    assert result.returncode != 0
    assert "eco2.orchestrator" in result.stdout
    assert "1 broken" in result.stdout
