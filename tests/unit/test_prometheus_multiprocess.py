"""Folding dead processes' metric files: the stock collector must report the same totals before and after.

Processes are real: child interpreters with ``PROMETHEUS_MULTIPROC_DIR`` set, and fake pids written in
this process by the library's own writer (``MultiProcessValue`` with a pid chosen by the test, the way
prometheus_client's own test suite simulates forks). Expected totals always come from the stock
``MultiProcessCollector`` over a copy of the directory after the stock ``mark_process_dead``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, values
from prometheus_client import multiprocess as stock
from prometheus_client.values import MultiProcessValue

from eco2.adapters.prometheus import multiprocess as mp

GAUGE_MODES = ("all", "sum", "min", "max", "mostrecent", "livesum", "livemin", "livemax", "liveall", "livemostrecent")

CHILD = f"""
import sys
from prometheus_client import Counter, Gauge, Histogram, Summary
n = int(sys.argv[1])
Counter("jobs_total", "Jobs", ["status"]).labels("ok").inc(n)
h = Histogram("job_seconds", "Job time", ["intent"], buckets=(0.1, 1.0, 5.0))
for i in range(n):
    h.labels("waste").observe(0.25 * i)
Summary("payload_bytes", "Payload").observe(100 * n)
for mode in {GAUGE_MODES!r}:
    Gauge("g_" + mode, "Gauge", ["k"], multiprocess_mode=mode).labels("x").set(n)
if len(sys.argv) > 2:
    print("ready", flush=True)
    sys.stdin.read()
"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
WriteProcess = Callable[[int, int], None]


def scrape(path: Path) -> Samples:
    """Every sample the stock collector reports over ``path``."""
    registry = CollectorRegistry()
    stock.MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for metric in registry.collect() for s in metric.samples}


def stock_after_death(path: Path, dead: list[int], tmp_path: Path) -> Samples:
    """What the stock collector reports once the stock ``mark_process_dead`` ran for ``dead``."""
    copy = tmp_path / "stock-copy"
    shutil.copytree(path, copy)
    for pid in dead:
        stock.mark_process_dead(pid, str(copy))  # type: ignore[no-untyped-call]
    return scrape(copy)


def spawn(path: Path, n: int, wait: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(path)}
    args = [sys.executable, "-c", CHILD, str(n)] + (["wait"] if wait else [])
    return subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_children(path: Path, ns: list[int]) -> list[int]:
    children = [spawn(path, n) for n in ns]
    for child in children:
        assert child.wait(timeout=60) == 0
    return [child.pid for child in children]


def pid_files(path: Path, pid: int) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name.endswith(f"_{pid}.db"))


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


@pytest.fixture
def write_process(metrics_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteProcess]:
    """``write(pid, n)`` writes what a pool process ``pid`` would after ``n`` jobs, through the library."""
    current = [0]
    value_class = MultiProcessValue(lambda: current[0])  # type: ignore[no-untyped-call]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    monkeypatch.setattr(values, "ValueClass", value_class)

    def write(pid: int, n: int) -> None:
        current[0] = pid
        registry = CollectorRegistry()
        Counter("jobs_total", "Jobs", ["status"], registry=registry).labels("ok").inc(n)
        h = Histogram("job_seconds", "Job time", ["intent"], buckets=(0.1, 1.0, 5.0), registry=registry)
        for i in range(n):
            h.labels(["waste", "weather"][i % 2]).observe(0.25 * i)
        Summary("payload_bytes", "Payload", registry=registry).observe(100 * n)
        for mode in GAUGE_MODES:
            gauge = Gauge(f"g_{mode}", "Gauge", ["k"], registry=registry, multiprocess_mode=mode)  # type: ignore[arg-type]
            gauge.labels("x").set(n)
        value_class.close_all_files()

    yield write
    value_class.close_all_files()


def test_folding_real_processes_keeps_every_total(metrics_dir: Path, tmp_path: Path) -> None:
    dead = run_children(metrics_dir, [3, 5, 8])
    expected = stock_after_death(metrics_dir, dead, tmp_path)

    assert mp.fold_dead_processes(str(metrics_dir)) == sorted(dead)

    assert scrape(metrics_dir) == pytest.approx(expected)
    assert expected[("jobs_total", (("status", "ok"),))] == 16
    assert expected[("job_seconds_bucket", (("intent", "waste"), ("le", "+Inf")))] == 16
    for pid in dead:  # only the per-pid series of 'all' gauges cannot be folded
        assert pid_files(metrics_dir, pid) == [f"gauge_all_{pid}.db"]


def test_folding_many_fake_processes_keeps_every_total(
    metrics_dir: Path, tmp_path: Path, write_process: WriteProcess
) -> None:
    for pid in range(1000, 1060):
        write_process(pid, pid % 7 + 1)
    expected = stock_after_death(metrics_dir, list(range(1000, 1060)), tmp_path)

    mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: False)

    assert scrape(metrics_dir) == pytest.approx(expected)


def test_dead_pids_files_are_gone_and_live_pids_untouched(metrics_dir: Path, write_process: WriteProcess) -> None:
    live, dead = [7, 8], [101, 102, 103]
    for pid in live + dead:
        write_process(pid, 4)
    before = {name: (metrics_dir / name).read_bytes() for pid in live for name in pid_files(metrics_dir, pid)}

    folded = mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: pid in live)

    assert folded == dead
    assert all(pid_files(metrics_dir, pid) == [f"gauge_all_{pid}.db"] for pid in dead)
    assert {name: (metrics_dir / name).read_bytes() for name in before} == before


def test_folding_is_idempotent(metrics_dir: Path, write_process: WriteProcess) -> None:
    for pid in (11, 12):
        write_process(pid, 3)
    assert mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: False) == [11, 12]
    archives = {p.name: p.read_bytes() for p in metrics_dir.iterdir() if "archive" in p.name}
    after_first = scrape(metrics_dir)

    assert mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: False) == []
    mp.fold_dead_process(11, str(metrics_dir))
    mp.mark_process_dead(12, str(metrics_dir))

    assert scrape(metrics_dir) == after_first
    assert {p.name: p.read_bytes() for p in metrics_dir.iterdir() if "archive" in p.name} == archives


def test_live_gauges_of_dead_pids_vanish_while_live_ones_stay(metrics_dir: Path, write_process: WriteProcess) -> None:
    write_process(21, 5)  # dies
    write_process(22, 3)  # lives
    before = scrape(metrics_dir)
    assert before[("g_livesum", (("k", "x"),))] == 8

    mp.mark_process_dead(21, str(metrics_dir))

    after = scrape(metrics_dir)
    assert after[("g_livesum", (("k", "x"),))] == 3
    assert after[("g_livemax", (("k", "x"),))] == 3
    assert after[("g_sum", (("k", "x"),))] == 8  # non-live modes still include the dead process
    assert after[("g_max", (("k", "x"),))] == 5
    assert after[("g_min", (("k", "x"),))] == 3
    assert after[("g_mostrecent", (("k", "x"),))] == 3  # pid 22 set it last
    assert after[("jobs_total", (("status", "ok"),))] == 8


def _fold_in_child(
    path: str, live: list[int], barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue[list[int]]
) -> None:
    barrier.wait()
    out.put(mp.fold_dead_processes(path, is_alive=lambda pid: pid in live))


def test_two_concurrent_folders_never_double_count(
    metrics_dir: Path, tmp_path: Path, write_process: WriteProcess
) -> None:
    live, dead = [5, 6], list(range(3000, 3300))
    for pid in live + dead:
        write_process(pid, pid % 5 + 1)
    expected = stock_after_death(metrics_dir, dead, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    folders = [ctx.Process(target=_fold_in_child, args=(str(metrics_dir), live, barrier, out)) for _ in range(2)]

    registry = mp.make_registry(str(metrics_dir))
    seen: set[float | None] = set()
    results: list[list[int]] = []

    for folder in folders:
        folder.start()
    deadline = time.monotonic() + 120
    while len(results) < 2 and time.monotonic() < deadline:
        # Scrapes during the folds take the shared lock: never half a fold, so never a counter dip.
        seen.add(registry.get_sample_value("jobs_total", {"status": "ok"}))
        with suppress(queue.Empty):
            results.append(out.get(timeout=0.01))
    for folder in folders:
        folder.join(timeout=60)
        assert folder.exitcode == 0

    assert sorted(results[0] + results[1]) == dead  # each pid folded exactly once
    assert seen == {expected[("jobs_total", (("status", "ok"),))]}
    assert scrape(metrics_dir) == pytest.approx(expected)


class SimulatedCrashError(Exception):
    pass


def test_a_crash_after_the_commit_is_redone_without_double_count(
    metrics_dir: Path, tmp_path: Path, write_process: WriteProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    for pid in (31, 32, 33):
        write_process(pid, 6)
    mp.fold_dead_process(31, str(metrics_dir))  # archives exist before the crash
    expected = stock_after_death(metrics_dir, [32], tmp_path)
    real_recover, calls = mp._recover, []

    def crash_before_applying(path: str) -> None:
        calls.append(path)
        if len(calls) == 2:  # the second call applies the journal just committed
            raise SimulatedCrashError
        real_recover(path)

    monkeypatch.setattr(mp, "_recover", crash_before_applying)
    with pytest.raises(SimulatedCrashError):
        mp.fold_dead_process(32, str(metrics_dir))
    monkeypatch.setattr(mp, "_recover", real_recover)
    # Half-applied: the counter archive already holds pid 32, whose counter file is still there.
    os.replace(metrics_dir / ".fold-counter_archive.db.tmp", metrics_dir / "counter_archive.db")
    assert scrape(metrics_dir)[("jobs_total", (("status", "ok"),))] == 24

    registry = mp.make_registry(str(metrics_dir))  # its scrape finishes the fold first

    assert registry.get_sample_value("jobs_total", {"status": "ok"}) == 18
    assert scrape(metrics_dir) == pytest.approx(expected)
    assert not (metrics_dir / mp.JOURNAL_NAME).exists()
    assert not [p for p in metrics_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_before_the_commit_changes_nothing(
    metrics_dir: Path, tmp_path: Path, write_process: WriteProcess
) -> None:
    for pid in (41, 42, 43):
        write_process(pid, 2)
    mp.fold_dead_process(41, str(metrics_dir))
    before = scrape(metrics_dir)
    stray = metrics_dir / ".fold-counter_archive.db.tmp"
    stray.write_bytes(b"half a write")

    assert mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: pid in (42, 43)) == []
    assert scrape(metrics_dir) == before
    assert not stray.exists()

    stray.write_bytes(b"half a write")
    expected = stock_after_death(metrics_dir, [42], tmp_path)
    mp.fold_dead_process(42, str(metrics_dir))
    assert scrape(metrics_dir) == pytest.approx(expected)


def test_default_liveness_check_folds_exited_processes_only(metrics_dir: Path, tmp_path: Path) -> None:
    alive = spawn(metrics_dir, 2, wait=True)
    try:
        assert alive.stdout is not None
        assert alive.stdout.readline().strip() == "ready"
        dead = run_children(metrics_dir, [1, 4])
        live_files = pid_files(metrics_dir, alive.pid)

        assert mp.fold_dead_processes(str(metrics_dir)) == sorted(dead)

        assert pid_files(metrics_dir, alive.pid) == live_files
        assert scrape(metrics_dir)[("g_livesum", (("k", "x"),))] == 2
    finally:
        alive.communicate("", timeout=60)


def test_registry_reports_the_directory_size(metrics_dir: Path, write_process: WriteProcess) -> None:
    for pid in (51, 52):
        write_process(pid, 1)
    registry = mp.make_registry(str(metrics_dir))
    files_before = registry.get_sample_value("eco2_metrics_dir_files")

    mp.fold_dead_processes(str(metrics_dir), is_alive=lambda pid: False)

    entries = [p for p in metrics_dir.iterdir() if p.is_file()]
    assert registry.get_sample_value("eco2_metrics_dir_files") == len(entries) < files_before  # type: ignore[operator]
    assert registry.get_sample_value("eco2_metrics_dir_bytes") == sum(p.stat().st_size for p in entries)
    assert mp.dir_stats(str(metrics_dir)) == (len(entries), sum(p.stat().st_size for p in entries))
    assert registry.get_sample_value("jobs_total", {"status": "ok"}) == 2
