"""Local processes for the demo, the tests and the benchmarks: a private redis-server and Celery workers.

Real servers, started as subprocesses on free loopback ports, so everything runs on a fresh machine with
only the ``redis-server`` binary installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import redis
import requests


def free_port() -> int:
    """A TCP port that was free a moment ago on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL and reap. Returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


class LocalRedis:
    """A private ``redis-server`` on a free port, with the persistence eco2 needs (docs/deploy.md).

    Append-only file, fsync every second, no eviction: a restart keeps queued messages, the messages
    workers hold, streams, deadlines and sessions. Its directory is removed when it stops for good.
    """

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian/Ubuntu: sudo apt-get install redis-server)")
        self._binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="eco2-redis-")
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--maxmemory-policy",
                "noeviction",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def restart(self, keep_data: bool = True) -> None:
        """Stop the server (SIGTERM: the append-only file is flushed) and start it again on the same port;
        ``keep_data=False`` starts it empty, as a server without persistence comes back."""
        stop_process(self._proc, 10)
        if not keep_data:
            shutil.rmtree(self._dir, ignore_errors=True)
            Path(self._dir).mkdir()
        self._start()

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        stop_process(self._proc, 10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


RABBITMQ_SBIN = Path("/usr/lib/rabbitmq/bin")
"""Where Debian's rabbitmq-server package keeps the scripts that run as the calling user (its /usr/sbin
wrappers switch to the ``rabbitmq`` system user, whose node this is not)."""


def _rabbitmq_script(name: str) -> str:
    packaged = RABBITMQ_SBIN / name
    if packaged.exists():
        return str(packaged)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError("rabbitmq-server is not installed (Debian/Ubuntu: sudo apt-get install rabbitmq-server)")
    return found


class LocalRabbitMQ:
    """A private RabbitMQ node on free loopback ports, for tests and benchmarks of the AMQP broker.

    Its own node name, Erlang port mapper, data, logs and cookie live in a temporary directory, so it never
    meets the machine's own node. ``vhost(name)`` gives each test module a virtual host of its own, the way
    the Redis fixtures give each a database.
    """

    def __init__(self, start_timeout_s: float = 90) -> None:
        self._server = _rabbitmq_script("rabbitmq-server")
        self._ctl = _rabbitmq_script("rabbitmqctl")
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="eco2-rabbitmq-"))
        node = f"eco2-{self.port}@localhost"
        self._env = {
            **os.environ,
            "HOME": str(self._dir),  # the Erlang cookie is created and read here
            "RABBITMQ_NODENAME": node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "ERL_EPMD_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self._dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self._dir / "log"),
            "RABBITMQ_PID_FILE": str(self._dir / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self._dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self._dir / "rabbitmq"),
            "RABBITMQ_CONF_ENV_FILE": str(self._dir / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self._dir / "advanced.config"),
        }
        (self._dir / "enabled_plugins").write_text("[].\n")
        (self._dir / "rabbitmq-env.conf").write_text("")
        # The default disk alarm (50 MB free) would block publishers on a full CI disk without a word.
        (self._dir / "rabbitmq.conf").write_text("disk_free_limit.absolute = 1MB\nloopback_users = none\n")
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self._log = (self._dir / "server.out").open("ab")
        self._start_timeout_s = start_timeout_s
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [self._server], env=self._env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait(self._start_timeout_s)
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """Stop the node and start it again on the same port and data: durable queues and persistent
        messages come back, connections do not."""
        self._stop_node()
        self._start()

    def _stop_node(self) -> None:
        if self._proc.poll() is None:
            subprocess.run([self._ctl, "stop"], env=self._env, capture_output=True, timeout=60, check=False)
            stop_process(self._proc, 30)

    def _wait(self, timeout_s: float) -> None:
        from eco2.dispatch.producer import probe_broker

        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited ({self._proc.returncode}); see {self._dir}/server.out")
            try:
                probe_broker(self.url, 1)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rabbitmq-server did not start; see {self._dir}/server.out") from None
                time.sleep(0.25)

    def ctl(self, *args: str) -> str:
        """Run ``rabbitmqctl`` against this node; returns its output, raises on failure."""
        done = subprocess.run(
            [self._ctl, *args], env=self._env, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def vhost(self, name: str) -> str:
        """A fresh virtual host (deleted first if it exists) and the broker URL that uses it."""
        if name in self.ctl("list_vhosts", "--quiet").split():
            self.ctl("delete_vhost", name)
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the node (and its port mapper) and remove its directory."""
        self._stop_node()
        epmd = shutil.which("epmd")
        if epmd is not None:  # the node started its own port mapper on ERL_EPMD_PORT; it outlives the node
            subprocess.run([epmd, "-kill"], env=self._env, capture_output=True, timeout=30, check=False)
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalRabbitMQ:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Worker:
    """A ``celery -A <app> worker`` subprocess, ready (answering ping) when the constructor returns."""

    def __init__(
        self,
        env: Mapping[str, str],
        app: str = "tasks",
        queues: Sequence[str] = (),
        concurrency: int | None = 2,
        pool: str | None = "prefork",
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
        ready_timeout_s: float = 60,
        launcher: str = "celery",
    ) -> None:
        self.name = f"eco2-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.env = {**os.environ, **env}
        if launcher == "eco2":  # the start-up script: shared metrics directory, then celery -A tasks worker
            start = [sys.executable, "-m", "eco2.cli.main", "worker", "-A", app]
        else:
            start = [sys.executable, "-m", "celery", "-A", app, "worker"]
        cmd = [
            *start,
            "-n",
            self.name,
            *(["-P", pool] if pool else []),  # None: the app's own default, as `eco2 worker` starts it
            *(["-c", str(concurrency)] if concurrency else []),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        if queues:
            cmd += ["-Q", ",".join(queues)]
        cmd += list(extra_args)
        self.names = [self.name]
        if launcher == "eco2":  # one Celery node per process when it starts several
            from eco2.cli.worker import planned_names

            self.names = planned_names(self.env, cmd[cmd.index("worker") + 1 :], self.name)
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="eco2-worker-", suffix=".log")[1])
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(ready_timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        from eco2.dispatch.producer import WorkerPing

        probe = WorkerPing(self.env.get("ECO2_BROKER_URL") or self.env["ECO2_REDIS_URL"])
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited early; see {self.log_path}")
                if probe(self.names, 0.5) >= set(self.names):
                    return
            raise RuntimeError(f"worker not ready after {timeout_s}s; see {self.log_path}")
        finally:
            probe.close()

    def children(self) -> list[int]:
        """PIDs of the pool processes."""
        pgrep = shutil.which("pgrep") or "/usr/bin/pgrep"
        out = subprocess.run([pgrep, "-P", str(self.proc.pid)], capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def stop(self, timeout_s: float = 30) -> int | None:
        """Warm shutdown (SIGTERM), then SIGKILL if it hangs. Returns the exit code."""
        code = stop_process(self.proc, timeout_s)
        self._log.close()
        return code

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def wait_serving(proc: subprocess.Popen[bytes], url: str, timeout_s: float, probe_timeout_s: float = 1.0) -> str | None:
    """Wait until ``url`` answers 200 while ``proc`` runs: ``None`` once it does, else why it did not (the
    process exited, or the time ran out). Shared by every HTTP server started here and in the tests."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            return f"exited with {proc.returncode}"
        try:
            if requests.get(url, timeout=probe_timeout_s).status_code == 200:
                return None
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            return f"not ready after {timeout_s}s"
        time.sleep(0.1)


class GatewayServer:
    """``eco2 gateway`` as a subprocess on a free port, ready (``/healthz`` answers) when this returns."""

    def __init__(self, env: Mapping[str, str], log_path: Path | None = None, ready_timeout_s: float = 30) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="eco2-gateway-", suffix=".log")[1])
        self._log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "eco2.cli.main", "gateway", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)
        problem = wait_serving(self.proc, f"{self.url}/healthz", ready_timeout_s)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"the gateway {problem}; see {self.log_path}")

    def stop(self) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
        code = stop_process(self.proc, 15)
        self._log.close()
        return code

    def __enter__(self) -> GatewayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
