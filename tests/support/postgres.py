"""A throw-away PostgreSQL server for checkpointer tests (Debian's postgresql binaries, trust auth)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

from eco2.localrun import free_port


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    """Whether initdb and pg_ctl are installed."""
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


class LocalPostgres:
    """initdb + pg_ctl in a temporary directory; as root the server runs as the ``postgres`` user."""

    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL server binaries are not installed (apt-get install postgresql)")
        self._pg_ctl = pg_ctl
        self.port = free_port()
        self._dir = tempfile.mkdtemp(prefix="eco2-pg-")
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
            self._prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]
        data = os.path.join(self._dir, "data")
        self._data = data
        subprocess.run(
            [*self._prefix, initdb, "-D", data, "-U", "eco2", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*self._prefix, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(self._dir, "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://eco2@127.0.0.1:{self.port}/postgres"
        time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        stop = [*self._prefix, self._pg_ctl, "-D", self._data, "-m", "immediate", "stop"]
        subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(self._dir, ignore_errors=True)
