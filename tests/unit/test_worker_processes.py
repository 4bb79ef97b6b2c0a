"""``eco2 worker``'s process plan and its supervisor: one Celery worker per core for a threads pool, restarts,
shutdown signals passed on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from eco2.cli.supervise import Supervisor, node_names
from eco2.cli.worker import planned_names, process_count, take_option
from eco2.config import Settings
from eco2.errors import ConfigError


def test_options_are_found_in_every_spelling() -> None:
    assert take_option(["-Q", "eco2.io", "-P", "threads"], "-P", "--pool") == ("threads", ["-Q", "eco2.io"])
    assert take_option(["--pool=prefork", "-c", "4"], "-P", "--pool") == ("prefork", ["-c", "4"])
    assert take_option(["-Psolo"], "-P", "--pool") == ("solo", [])
    assert take_option(["--processes", "3"], None, "--processes") == ("3", [])
    assert take_option(["-Q", "eco2.chat"], "-P", "--pool") == (None, ["-Q", "eco2.chat"])


def test_a_threads_pool_gets_one_process_per_core_and_others_one() -> None:
    settings = Settings.from_env({})
    assert process_count(settings, "threads", None) == (os.cpu_count() or 1)
    assert process_count(settings, "prefork", None) == 1
    assert process_count(settings, "solo", None) == 1
    assert process_count(settings, "prefork", "3") == 3  # asked for explicitly
    assert process_count(Settings.from_env({"ECO2_WORKER_PROCESSES": "4"}), "threads", None) == 4
    with pytest.raises(ConfigError):
        process_count(settings, "threads", "many")


def test_node_names_are_distinct_per_process() -> None:
    assert node_names("chat@host-a", 2) == ["chat-1@host-a", "chat-2@host-a"]
    assert node_names(None, 2) == ["eco2-1@%h", "eco2-2@%h"]
    environ = {"ECO2_WORKER_PROCESSES": "3"}
    assert planned_names(environ, ["-Q", "eco2.chat"], "w@h") == ["w-1@h", "w-2@h", "w-3@h"]
    assert planned_names(environ, ["-P", "prefork", "-c", "2"], "w@h") == ["w-1@h", "w-2@h", "w-3@h"]
    assert planned_names({}, ["-P", "prefork"], "w@h") == ["w@h"]


CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    log = sys.argv[1]
    def stop(signum, frame):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} got {signum}\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    with open(log, "a") as f:
        f.write(f"{os.getpid()} started\\n")
    while True:
        time.sleep(0.05)
    """
)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(predicate: object, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_supervisor_restarts_a_dead_child_and_passes_sigterm_on(tmp_path: Path) -> None:
    log = tmp_path / "children.log"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys\n"
        "from eco2.cli.supervise import Supervisor\n"
        f"cmd = [sys.executable, {str(script)!r}, {str(log)!r}]\n"
        "sys.exit(Supervisor([cmd, cmd], {'PATH': ''}).run())\n"
    )
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(driver)], env={**os.environ, "PYTHONPATH": str(root)})
    try:
        wait_for(lambda: sum(line.endswith("started") for line in lines(log)) == 2)
        first = int(lines(log)[0].split()[0])
        os.kill(first, signal.SIGKILL)  # dies on its own: started again after the first backoff
        wait_for(lambda: sum(line.endswith("started") for line in lines(log)) == 3)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(20) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
    got = [line for line in lines(log) if line.endswith(f"got {int(signal.SIGTERM)}")]
    assert len(got) == 2, lines(log)  # both live children were told, and the parent waited for them


def test_a_supervisor_exits_with_the_worst_code_of_its_children() -> None:
    commands = [[sys.executable, "-c", "import time; time.sleep(30)"]] * 2
    supervisor = Supervisor(commands, dict(os.environ))
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # SIGALRM stands in for a shutdown signal below
    previous = signal.signal(signal.SIGALRM, lambda *_: supervisor._forward(signal.SIGKILL, None))
    try:
        assert supervisor.run() == 9  # killed children report -9
    finally:
        signal.signal(signal.SIGALRM, previous)
