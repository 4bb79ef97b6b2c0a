"""The host's metrics endpoint: serves the multiprocess registry of every pool on the host, folds the
files of dead pool processes into archives, and pushes to a Pushgateway when one is configured.

Runs as daemon threads in one worker main process per host (whichever binds the port first), so one
scrape target per host aggregates all of its pools.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app, push_to_gateway

from eco2.adapters.prometheus.multiprocess import fold_dead_processes, make_registry

log = logging.getLogger(__name__)

JANITOR_INTERVAL_S = 10.0
TAKEOVER_S = 2.0
"""How often a worker whose host's endpoint is served elsewhere tries to take the port over."""


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are frequent: do not log each one."""


class _ThreadingWSGIServer(ThreadingHTTPServer, WSGIServer):
    daemon_threads = True


class MetricsHost:
    """Owns the endpoint, the janitor and the pusher of one host."""

    def __init__(
        self,
        directory: Path,
        port: int,
        addr: str = "127.0.0.1",
        pushgateway_url: str | None = None,
        push_interval_s: float = 15.0,
        janitor_interval_s: float = JANITOR_INTERVAL_S,
    ) -> None:
        self.directory = directory
        self.registry: CollectorRegistry = make_registry(str(directory))
        self._port, self._addr = port, addr
        self._pushgateway_url = pushgateway_url
        self._push_interval_s = push_interval_s
        self._janitor_interval_s = janitor_interval_s
        self._stop = threading.Event()
        self._server: WSGIServer | None = None
        self.port: int | None = None
        self.addr: str | None = None

    def serve(self, retry_s: float = TAKEOVER_S) -> bool:
        """Bind the endpoint now if the port is free (True), else keep trying every ``retry_s`` in the
        background: when the process that holds it exits, another worker of the host takes it over."""
        if self.start():
            return True
        threading.Thread(target=self._take_over, args=(retry_s,), name="eco2-metrics-takeover", daemon=True).start()
        return False

    def _take_over(self, retry_s: float) -> None:
        while not self._stop.wait(retry_s):
            if self.start(quiet=True):
                log.info("took over the host's metrics endpoint on :%s", self.port)
                return

    def start(self, quiet: bool = False) -> bool:
        """Bind the endpoint and start the threads; False when another process of the host serves it."""
        try:
            server = make_server(
                self._addr,
                self._port,
                make_wsgi_app(self.registry),
                server_class=_ThreadingWSGIServer,
                handler_class=_QuietHandler,
            )
        except OSError as exc:
            if not quiet:
                log.info("metrics endpoint :%s not bound here (%s); another pool serves it", self._port, exc)
            return False
        self._server = server
        self.port = server.server_port
        self.addr = str(server.server_address[0])
        threading.Thread(target=server.serve_forever, name="eco2-metrics-http", daemon=True).start()
        threading.Thread(target=self._janitor, name="eco2-metrics-janitor", daemon=True).start()
        if self._pushgateway_url:
            threading.Thread(target=self._pusher, name="eco2-metrics-push", daemon=True).start()
        log.info("metrics of %s served on :%s", self.directory, self.port)
        return True

    def stop(self) -> None:
        """Stop serving (a final push happens first when a Pushgateway is configured), or stop waiting to."""
        self._stop.set()
        if self._server is None:
            return  # another worker of the host serves the endpoint (and pushes)
        if self._pushgateway_url:
            self.push()
        self._server.shutdown()

    def fold(self) -> list[int]:
        """Fold the files of pool processes that are gone (bounded directory, bounded scrape cost)."""
        return fold_dead_processes(str(self.directory))

    def push(self) -> None:
        """Push the aggregated registry once (grouped by host, so hosts do not overwrite each other)."""
        if not self._pushgateway_url:
            return
        try:
            push_to_gateway(
                self._pushgateway_url,
                job="eco2",
                registry=self.registry,
                grouping_key={"instance": socket.gethostname()},
                timeout=5,
            )
        except Exception as exc:
            log.warning("push to the Pushgateway failed: %s", type(exc).__name__)

    def _janitor(self) -> None:
        while not self._stop.wait(self._janitor_interval_s):
            try:
                self.fold()
            except Exception:
                log.warning("folding dead metrics files failed", exc_info=True)

    def _pusher(self) -> None:
        while not self._stop.wait(self._push_interval_s):
            self.push()
