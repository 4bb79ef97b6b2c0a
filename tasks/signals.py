"""Worker signals: warm pool processes up, run the main process's helpers, clean up after pool processes.

The main process of a worker runs the deadline sweeper and, when the host's multiprocess metrics directory
is set (``eco2 worker`` sets it), the host's metrics endpoint with its janitor and Pushgateway pusher.
Each pool process sets up OpenTelemetry (when ``LANGSMITH_OTEL_ENABLED``) before its container, whose
langsmith client must find the process's tracer provider, and sends its buffered runs and spans on exit.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery.signals import (
    heartbeat_sent,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from eco2.adapters.prometheus.exposition import MetricsHost
from eco2.bootstrap import process_settings
from tasks import runtime
from tasks.app import app
from tasks.heartbeat import VisibilityHeartbeat
from tasks.sweeper import DeadlineSweeper
from tasks.watchdog import RedisWatchdog

log = logging.getLogger(__name__)


TELEMETRY_FLUSH_S = 5.0


@worker_init.connect
def _prepare_metrics_dir(**_: Any) -> None:
    """Create and prepare ``PROMETHEUS_MULTIPROC_DIR`` as ``eco2 worker`` does, for a direct ``celery`` start.

    A directory that did not exist made the Prometheus client fail halfway through registering the metrics,
    and every later attempt in the process failed on the half-registered ones. Preparing it here (before any
    pool process or container) creates it, wipes stale files if this is the host's first worker, and holds
    the host lock; under ``eco2 worker`` it is already prepared and this changes nothing.
    """
    directory = process_settings().metrics_dir
    if directory is not None:
        from eco2.cli.worker import prepare

        try:
            prepare(directory)
        except OSError:
            log.error("cannot prepare PROMETHEUS_MULTIPROC_DIR=%s; metrics will be off", directory, exc_info=True)


def tasks_run_here() -> bool:
    """Whether this worker runs its tasks in its own process (every pool but prefork's child processes)."""
    return str(app.conf.worker_pool) not in ("prefork", "processes")


@worker_init.connect
def _warm_up_main_process(**_: Any) -> None:
    """A threads (or solo) pool runs tasks here: build the container before the first message is taken."""
    if tasks_run_here():
        _warm_up()


@worker_shutdown.connect
def _main_process_exit(**_: Any) -> None:
    """What a pool process does when it exits, for a pool whose tasks ran in this process."""
    if tasks_run_here():
        _flush_telemetry()
        _fold_own_metrics()


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Set up tracing, then build this pool process's container (classifier, retriever, checkpointer)."""
    runtime.reset()
    try:
        settings = process_settings()
        if settings.otel_enabled:
            from eco2.adapters.otel import configure_otel

            configure_otel(settings)
        runtime.container()
    except Exception:
        # A broken dependency is reported by the first task that needs it, with a clear error event.
        log.exception("eco2 container could not be built at start-up")


@worker_process_shutdown.connect
def _flush_telemetry(**_: Any) -> None:
    """Send the runs and spans still buffered: a pool process exits without waiting for those threads."""
    built = runtime.built()
    if built is None:
        return
    built.telemetry.flush(TELEMETRY_FLUSH_S)  # first: in OpenTelemetry mode it produces spans
    if built.settings.otel_enabled:
        from eco2.adapters.otel import shutdown_otel

        shutdown_otel(TELEMETRY_FLUSH_S)


@worker_process_shutdown.connect
def _fold_own_metrics(**_: Any) -> None:
    """A pool process that exits cleanly folds its own metrics files (killed ones: the janitor does)."""
    directory = process_settings().metrics_dir
    if directory is not None:
        from eco2.adapters.prometheus.multiprocess import mark_process_dead

        try:
            mark_process_dead(os.getpid(), str(directory))
        except Exception:
            log.warning("could not fold this process's metrics files", exc_info=True)


_sweeper: DeadlineSweeper | None = None
_heartbeat: VisibilityHeartbeat | None = None
_watchdog: RedisWatchdog | None = None
_metrics_host: MetricsHost | None = None


@worker_ready.connect
def _start_main_process_helpers(**_: Any) -> None:
    """Start the deadline sweeper and, if this host has a metrics directory, its endpoint."""
    global _sweeper, _metrics_host, _heartbeat, _watchdog  # noqa: PLW0603 - one of each per worker main process
    _sweeper = runtime.start_sweeper()
    parts = runtime.main_process()
    if parts.settings.broker_is_redis:  # an AMQP broker tracks its consumers itself
        _heartbeat = VisibilityHeartbeat(app)
        _heartbeat.start()
    _watchdog = RedisWatchdog(parts.client, parts.settings.stream_prefix, parts.metrics)
    _watchdog.start()
    settings = parts.settings
    if settings.metrics_dir is not None and settings.metrics_port:
        host = MetricsHost(
            settings.metrics_dir,
            settings.metrics_port,
            settings.metrics_addr,
            settings.pushgateway_url,
            settings.push_interval_s,
            settings.metrics_janitor_s,
        )
        host.serve()  # or take it over once the worker serving it exits
        _metrics_host = host


@worker_shutdown.connect
def _stop_main_process_helpers(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
    if _heartbeat is not None:
        _heartbeat.stop()
    if _watchdog is not None:
        _watchdog.stop()
    if _metrics_host is not None:
        _metrics_host.stop()


def _heartbeat_file() -> Path | None:
    """The settings are read once per process: the handler runs every 2 s."""
    return process_settings().heartbeat_file


@heartbeat_sent.connect
def _touch_heartbeat_file(**_: Any) -> None:
    """Liveness/readiness evidence for Kubernetes probes: the worker's event loop is alive and connected.

    Celery sends a heartbeat event every 2 s from the consumer (only while it is connected to the broker);
    touching ``ECO2_HEARTBEAT_FILE`` then lets a probe check the file's age without starting Python.
    """
    path = _heartbeat_file()
    if path is not None:
        try:
            path.touch()
        except OSError:
            log.warning("could not touch the heartbeat file %s", path)
