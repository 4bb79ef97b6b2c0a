"""Fold the metric files of dead pool processes into archives, so scrapes stop growing with churn.

Every pool process writes ``<type>_<pid>.db`` files (``gauge_<mode>_<pid>.db``) and the stock
``MultiProcessCollector`` reads all of them at every scrape; when pool processes are replaced the
directory and the scrape time grow without bound (the stock ``mark_process_dead`` only removes live gauges).

Folding adds a dead pid's values into one archive per file prefix (``counter_archive.db``,
``histogram_archive.db``, ``gauge_sum_archive.db``, ...) in the library's own mmap format (written with
its ``MmapedDict``), then deletes the pid's files. The stock collector reads an archive like any process
file: the type and gauge mode come from the file name, and the ``pid="archive"`` label it adds is dropped
for every gauge mode we fold. Per mode:

- counters, histograms (raw per-bucket counts and ``_sum``), summaries and ``sum`` gauges: added;
- ``min`` / ``max`` gauges: the smaller / larger value (both operations are associative);
- ``mostrecent`` gauges: the value with the newest timestamp, which the archive keeps;
- ``live*`` gauges: deleted, as the stock ``mark_process_dead`` does;
- ``all`` gauges (the stock default mode) are kept per pid: the stock collector reports them with a
  ``pid`` label, which an archive could not reproduce. Give a gauge a live mode to stop that growth.

Crash safety is a redo journal, because one fold replaces several archives and deletes several files,
which no single rename makes atomic (temp file + ``os.replace`` alone would double count a pid whose
files outlive a crash). A fold writes each merged archive to a hidden ``.tmp`` file (outside the
collector's ``*.db`` glob), commits ``.fold.journal`` (the renames and deletions) by an atomic rename,
applies it and removes it. A crash before the commit leaves only stray temp files, which the next fold
deletes; after it, the next fold or locked scrape redoes the journal, and every step is idempotent (a
rename whose temp file is gone was done). All of it runs under an exclusive ``flock`` on ``.fold.lock``;
scrapes through :func:`make_registry` take it shared, so they never see half a fold (a counter drop that
Prometheus reads as a reset, or a file deleted mid-scrape, which fails the stock collector).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "LockedMultiProcessCollector",
    "MultiprocessDirCollector",
    "dir_stats",
    "fold_dead_process",
    "fold_dead_processes",
    "make_registry",
    "mark_process_dead",
]

LOCK_NAME = ".fold.lock"
JOURNAL_NAME = ".fold.journal"
ARCHIVE_ID = "archive"
_TEMP_PREFIX = ".fold-"
_TEMP_SUFFIX = ".tmp"
# Pids folded per lock hold: bounds how long a scrape waits behind a large backlog, and the journal size.
_BATCH = 100

Pair = tuple[float, float]
"""A stored (value, timestamp) pair, as ``MmapedDict`` keeps it."""
Combine = Callable[[Pair, Pair], Pair]


def _add(old: Pair, new: Pair) -> Pair:
    return old[0] + new[0], max(old[1], new[1])


_COMBINE: dict[str, Combine] = {
    "counter": _add,
    "histogram": _add,
    "summary": _add,
    "gauge_sum": _add,
    "gauge_min": lambda old, new: new if new[0] < old[0] else old,
    "gauge_max": lambda old, new: new if new[0] > old[0] else old,
    # Strictly newer wins, as in the stock collector: a zero timestamp never beats a real one.
    "gauge_mostrecent": lambda old, new: new if new[1] > old[1] else old,
}
"""How two values of one key combine, per file prefix; prefixes missing here are never archived."""


def _parse(name: str) -> tuple[str, int] | None:
    """``("gauge_sum", 42)`` for ``gauge_sum_42.db``; None for archives, temp files and non-numeric ids."""
    if not name.endswith(".db"):
        return None
    prefix, sep, ident = name[:-3].rpartition("_")
    if not sep or not (ident.isascii() and ident.isdigit()):
        return None
    return prefix, int(ident)


def _pid_files(path: str) -> dict[int, list[tuple[str, str]]]:
    """Per pid, the ``(file name, prefix)`` pairs a fold acts on; files it must keep are left out."""
    found: dict[int, list[tuple[str, str]]] = {}
    for name in os.listdir(path):
        parsed = _parse(name)
        if parsed is not None and (parsed[0] in _COMBINE or parsed[0].startswith("gauge_live")):
            found.setdefault(parsed[1], []).append((name, parsed[0]))
    return found


def _read_into(values: dict[str, Pair], filename: str, combine: Combine) -> None:
    # Duplicate keys, even within one file, are combined exactly as the stock collector would.
    for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(filename):  # type: ignore[no-untyped-call]
        old = values.get(key)
        values[key] = (value, timestamp) if old is None else combine(old, (value, timestamp))


def _fsync(filename: str) -> None:
    fd = os.open(filename, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_archive(filename: str, values: dict[str, Pair]) -> None:
    """Write ``values`` with the library's own writer, so the format is the collector's by construction."""
    with suppress(FileNotFoundError):
        os.unlink(filename)
    mmaped = MmapedDict(filename)  # type: ignore[no-untyped-call]
    try:
        for key, (value, timestamp) in values.items():
            mmaped.write_value(key, value, timestamp)  # type: ignore[no-untyped-call]
    finally:
        mmaped.close()  # type: ignore[no-untyped-call]
    _fsync(filename)


@contextmanager
def _flock(path: str, operation: int) -> Iterator[None]:
    fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        # Unlock explicitly before closing: a pool process forked while the lock was held shares this
        # open file description, and a mere close() here would leave the lock held by that child forever.
        # (A process that dies while holding it releases it: its last descriptor closes.)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _recover(path: str) -> None:
    """Finish a committed fold a crash interrupted, then drop temp files of an uncommitted one."""
    journal = os.path.join(path, JOURNAL_NAME)
    try:
        with open(journal, encoding="utf-8") as f:
            plan = json.load(f)
    except FileNotFoundError:
        plan = None
    if plan is not None:
        for temp, final in plan["replace"]:
            with suppress(FileNotFoundError):  # gone: this rename was already done
                os.replace(os.path.join(path, temp), os.path.join(path, final))
        for name in plan["delete"]:
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(path, name))
        _fsync(path)  # the renames and deletions are durable before the journal that would redo them goes
        os.unlink(journal)
    for name in os.listdir(path):
        if name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX):
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(path, name))


def _fold_locked(path: str, pids: Iterable[int]) -> list[int]:
    """Fold ``pids`` in one journalled step; the caller holds the exclusive lock."""
    _recover(path)
    files = _pid_files(path)  # listed under the lock: a concurrent folder may have taken some pids
    folded = sorted({pid for pid in pids if pid in files})
    archives: dict[str, dict[str, Pair]] = {}
    delete: list[str] = []
    for pid in folded:
        for name, prefix in files[pid]:
            delete.append(name)
            combine = _COMBINE.get(prefix)
            if combine is None:  # a live-mode gauge: dropped with its process
                continue
            archive = f"{prefix}_{ARCHIVE_ID}.db"
            if archive not in archives:
                archives[archive] = {}
                if os.path.exists(os.path.join(path, archive)):
                    _read_into(archives[archive], os.path.join(path, archive), combine)
            _read_into(archives[archive], os.path.join(path, name), combine)
    if not delete:
        return []
    replace = []
    for archive, values in archives.items():
        temp = f"{_TEMP_PREFIX}{archive}{_TEMP_SUFFIX}"
        _write_archive(os.path.join(path, temp), values)
        replace.append((temp, archive))
    journal_temp = os.path.join(path, f"{_TEMP_PREFIX}journal{_TEMP_SUFFIX}")
    with open(journal_temp, "w", encoding="utf-8") as f:
        json.dump({"replace": replace, "delete": delete}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(journal_temp, os.path.join(path, JOURNAL_NAME))  # the commit point
    _fsync(path)
    _recover(path)  # applies the journal just committed
    return folded


def fold_dead_process(pid: int, path: str) -> None:
    """Fold one dead process's files into the archives; a no-op if it has none (e.g. folded already).

    The caller vouches that ``pid`` is dead: values it writes after the fold are lost with its files.
    """
    with _flock(path, fcntl.LOCK_EX):
        _fold_locked(path, [pid])


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists in this pid namespace (an unreaped zombie still counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else
    return True


def fold_dead_processes(path: str, is_alive: Callable[[int], bool] = _pid_alive) -> list[int]:
    """Fold every pid with files in ``path`` that ``is_alive`` says is dead; returns the pids this call folded.

    Safe to run from several processes at once: each pid is folded by exactly one of them.
    """
    dead = sorted(pid for pid in _pid_files(path) if not is_alive(pid))
    folded: list[int] = []
    # At least one pass, even with nothing dead: it also finishes a fold that a crash interrupted.
    for start in range(0, max(len(dead), 1), _BATCH):
        with _flock(path, fcntl.LOCK_EX):
            # Asked again under the lock: a late batch runs seconds after the listing, and a pid reused by a
            # new pool process in between must not lose its files.
            folded += _fold_locked(path, [pid for pid in dead[start : start + _BATCH] if not is_alive(pid)])
    return folded


def mark_process_dead(pid: int, path: str) -> None:
    """Drop-in for the stock ``mark_process_dead``: removes ``pid``'s live gauges and folds the rest."""
    fold_dead_process(pid, path)


def dir_stats(path: str) -> tuple[int, int]:
    """``(files, bytes)`` of the directory's regular files; bytes are apparent sizes (an upper bound on disk)."""
    files = size = 0
    with os.scandir(path) as entries:
        for entry in entries:
            with suppress(FileNotFoundError):  # a fold may delete it between listing and stat
                if entry.is_file(follow_symlinks=False):
                    size += entry.stat(follow_symlinks=False).st_size
                    files += 1
    return files, size


class MultiprocessDirCollector(Collector):
    """Reports the directory's size, so an alert fires when folding stops keeping up with churn."""

    def __init__(self, path: str) -> None:
        self._path = path

    def collect(self) -> Iterator[Metric]:
        """Yield ``eco2_metrics_dir_files`` and ``eco2_metrics_dir_bytes``."""
        files, size = dir_stats(self._path)
        yield GaugeMetricFamily("eco2_metrics_dir_files", "Files in the Prometheus multiprocess directory", files)
        yield GaugeMetricFamily(
            "eco2_metrics_dir_bytes", "Apparent size of the Prometheus multiprocess directory", size
        )


class LockedMultiProcessCollector(MultiProcessCollector):
    """The stock collector, reading under the shared fold lock so a scrape sees a fold entirely or not at all.

    Unlocked, a scrape racing a fold could count a pid twice or not at all, or fail on a deleted file. A
    fold left half-done by a crash is finished here before reading, so the double count cannot persist.
    """

    def __init__(self, path: str) -> None:
        super().__init__(None, path)  # type: ignore[no-untyped-call]

    def collect(self) -> list[Metric]:
        """Merge every ``*.db`` file of the directory, as the stock collector does."""
        with _flock(self._path, fcntl.LOCK_SH):
            if not os.path.exists(os.path.join(self._path, JOURNAL_NAME)):
                return list(super().collect())  # type: ignore[no-untyped-call]
        with _flock(self._path, fcntl.LOCK_EX):
            _recover(self._path)
            return list(super().collect())  # type: ignore[no-untyped-call]


def make_registry(path: str) -> CollectorRegistry:
    """The exposition endpoint's registry: every process's metrics plus the directory's size."""
    registry = CollectorRegistry()
    registry.register(LockedMultiProcessCollector(path))
    registry.register(MultiprocessDirCollector(path))
    return registry
