"""``TelemetryConfigPort`` on LangSmith: one trace per chat although the chat runs as several Celery tasks.

The root run ``chat:{job_id}`` is posted when the job starts; its reference (the root's dotted order, which
holds its id and start time) travels in ``JobRef.root_run``. Any process rebuilds a placeholder of the root
from it, so graph steps (through ``tracing_context(parent=...)``) and subagent runs become its children, and
the process that ends the job patches the root with its outcome.

When a chat is answered, the service scores its trace (:class:`~eco2.ports.telemetry.TraceFeedback`, e.g. the
retrieval quality): the scores become LangSmith feedback on the root run, sent from a background thread
(:mod:`eco2.adapters.langsmith.feedback`), and attributes of the current span with OpenTelemetry on. Every
run carries the release (``metadata.release``, the eco2 version) so those scores can be followed per release.

With OpenTelemetry on, the client also turns runs into spans (``hybrid``/``otel`` mode). The root run then
goes through a second, LangSmith-only client: its span would start in one process and end in another, which
OpenTelemetry cannot express; the Celery spans already tie the chat together there.

Fixes over the article: ``get_run_config`` no longer passes ``tags`` twice when a caller gives tags (the
merged list is the only one passed), default tags are deduplicated, and every call swallows and logs its
own failures, so LangSmith being down never breaks a chat.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langsmith import Client, RunTree, tracing_context

from eco2 import __version__
from eco2.adapters.langsmith.feedback import FeedbackBatch, FeedbackSender
from eco2.adapters.langsmith.run_config import TracingMode, get_run_config
from eco2.adapters.noop.telemetry import NoOpTraceRun
from eco2.config import Settings
from eco2.ports.telemetry import TraceFeedback

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

_STAMP_LEN = len("20250101T000000000000Z")
CLIENT_TIMEOUT_MS = (5_000, 10_000)
"""Connect and read timeouts of the upload requests (they run on the client's background thread)."""


def make_client(settings: Settings, mode: TracingMode, otel_provider: TracerProvider | None = None) -> Client:
    """A client configured from settings only (the key is revealed here and nowhere else)."""
    key = settings.langsmith_api_key.reveal() if settings.langsmith_api_key is not None else None
    return Client(
        api_url=settings.langsmith_endpoint,
        api_key=key,
        timeout_ms=CLIENT_TIMEOUT_MS,
        tracing_mode=None if mode == "off" else mode,
        # Our provider, never langsmith's own: that one would send the LangSmith key to the OTLP endpoint.
        otel_tracer_provider=otel_provider,
    )


class LangSmithRun:
    """Implements ``TraceRunPort`` on one posted ``RunTree``."""

    def __init__(self, run: RunTree) -> None:
        self._run = run
        self._outputs: dict[str, Any] = {}
        self._error: str | None = None

    def end(self, outputs: Mapping[str, Any], error: str | None = None) -> None:
        """Remember the result; it is sent when the block ends."""
        self._outputs, self._error = dict(outputs), error

    def finish(self, error: str | None = None) -> None:
        """Patch the run with its result (best effort)."""
        try:
            self._run.end(outputs=self._outputs, error=error or self._error)
            self._run.patch()
        except Exception:
            log.warning("could not end LangSmith run %s", self._run.name, exc_info=True)


class LangSmithTelemetryAdapter:
    """Run configs with default tags, the chat's root run, and child runs, all on explicit clients."""

    def __init__(
        self,
        client: Client,
        *,
        project: str,
        default_tags: Sequence[str] = (),
        root_client: Client | None = None,
        traceparent: Callable[[], str | None] | None = None,
        release: str = __version__,
        feedback: FeedbackSender | None = None,
        span_attributes: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        """``root_client`` posts and patches root runs (``None``: no root run, OpenTelemetry-only mode);
        ``feedback`` sends scores to root runs, ``span_attributes`` sets them on the current span."""
        self._client = client
        self._root_client = root_client
        self._project = project
        self._default_tags = tuple(dict.fromkeys(default_tags))
        self._traceparent = traceparent
        self._release = release
        self._feedback = feedback
        self._span_attributes = span_attributes

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        mode: TracingMode,
        otel_provider: TracerProvider | None = None,
        traceparent: Callable[[], str | None] | None = None,
    ) -> LangSmithTelemetryAdapter:
        """The adapter for ``mode`` (see the module docstring for why hybrid mode has two clients)."""
        client = make_client(settings, mode, otel_provider)
        root_client = client if mode == "langsmith" else None
        if mode == "hybrid":
            root_client = make_client(settings, "langsmith")
        feedback = None
        if root_client is not None:
            source = {"release": __version__, "env": settings.env_name}
            feedback = FeedbackSender(root_client, settings.langsmith_project, source)
        span_attributes = None
        if otel_provider is not None:
            from eco2.adapters.otel import set_span_attributes

            span_attributes = set_span_attributes
        return cls(
            client,
            project=settings.langsmith_project,
            default_tags=(f"env:{settings.env_name}",),
            root_client=root_client,
            traceparent=traceparent,
            feedback=feedback,
            span_attributes=span_attributes,
        )

    def is_enabled(self) -> bool:
        """Runs are recorded."""
        return True

    def get_run_config(
        self,
        job_id: str,
        session_id: str | None = None,
        user_id: str | None = None,
        intent: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The article's config with the default tags (``env:{x}``) merged in front of the caller's, and
        the release in the metadata (the caller's metadata may override it)."""
        merged = list(dict.fromkeys([*self._default_tags, *(tags or ())]))
        return get_run_config(
            job_id, session_id, user_id, intent, merged, {"release": self._release, **(metadata or {})}
        )

    def start_trace(self, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
        """Post the root run; its dotted order is the reference children and the end need."""
        if self._root_client is None:
            return None
        try:
            run = RunTree(
                name=_root_name(config),
                run_type="chain",
                inputs=dict(inputs),
                project_name=self._project,
                ls_client=self._root_client,
                **_labels(config),
            )
            run.post()
        except Exception:
            log.warning("could not open the LangSmith trace; the chat goes on untraced", exc_info=True)
            return None
        return run.dotted_order

    def end_trace(
        self, root: str, config: Mapping[str, Any], outputs: Mapping[str, Any], error: str | None = None
    ) -> None:
        """Patch the root run (tags and metadata now include the intent, which was unknown at start)."""
        if self._root_client is None:
            return
        try:
            run = _root_tree(root, self._root_client, self._project, name=_root_name(config), **_labels(config))
            run.end(outputs=dict(outputs), error=error)
            run.patch()
        except Exception:
            log.warning("could not end the LangSmith trace", exc_info=True)

    def record_feedback(self, root: str | None, feedback: Sequence[TraceFeedback]) -> None:
        """Queue the scores as feedback on the root run, and set them on the current span (OpenTelemetry)."""
        if not feedback:
            return
        if self._span_attributes is not None:
            try:
                self._span_attributes(_span_attributes(feedback, self._release))
            except Exception:
                log.warning("could not set the trace's scores on the current span", exc_info=True)
        if root is None or self._feedback is None:
            return
        try:
            run_id, start = _root_id_and_start(root)
            self._feedback.submit(FeedbackBatch(run_id, start, tuple(feedback)))
        except Exception:
            log.warning("could not queue the trace's feedback", exc_info=True)

    @contextmanager
    def within(self, root: str | None) -> Iterator[None]:
        """LangChain runs in the block are children of the root (top-level runs when there is none)."""
        with ExitStack() as stack:
            try:
                parent = _root_tree(root, self._client, self._project) if root else None
                stack.enter_context(self._context(parent))
            except Exception:
                log.warning("could not set the LangSmith tracing context", exc_info=True)
            yield

    @contextmanager
    def child_run(
        self, root: str | None, name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> Iterator[LangSmithRun | NoOpTraceRun]:
        """One run ``name`` under the root; LangChain calls inside it nest below it."""
        run = self._open_child(root, name, config, inputs)
        if run is None:
            yield NoOpTraceRun()
            return
        recorder = LangSmithRun(run)
        try:
            with self._context(run):
                yield recorder
        except BaseException as exc:
            recorder.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        recorder.finish()

    def traceparent(self) -> str | None:
        """The current span's W3C context when OpenTelemetry is on."""
        return self._traceparent() if self._traceparent is not None else None

    def flush(self, timeout_s: float) -> None:
        """Send the queued feedback, then the buffered runs of both clients (queued feedback among them).

        The feedback gets half of ``timeout_s``: it is empty unless LangSmith is slow or down, and then it
        must not hold a process's exit for long on top of the runs.
        """
        if self._feedback is not None and not self._feedback.flush(timeout_s / 2):
            log.warning("trace feedback still unsent after %.1fs", timeout_s / 2)
        for client in dict.fromkeys([self._client, self._root_client]):
            if client is not None:
                try:
                    client.flush(timeout=timeout_s)
                except Exception:
                    log.warning("could not flush LangSmith runs", exc_info=True)

    def _context(self, parent: RunTree | None) -> AbstractContextManager[None]:
        return tracing_context(parent=parent, client=self._client, project_name=self._project, enabled=True)

    def _open_child(
        self, root: str | None, name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> RunTree | None:
        labels = _labels(config)
        try:
            if root:
                parent = _root_tree(root, self._client, self._project)
                run = parent.create_child(name, "chain", inputs=dict(inputs), **labels)
            else:
                run = RunTree(
                    name=name,
                    run_type="chain",
                    inputs=dict(inputs),
                    project_name=self._project,
                    ls_client=self._client,
                    **labels,
                )
            run.post()
        except Exception:
            log.warning("could not open LangSmith run %s", name, exc_info=True)
            return None
        return run


def _root_name(config: Mapping[str, Any]) -> str:
    """The root run's name: the config's ``run_name`` (``chat:{job_id}``)."""
    return str(config.get("run_name") or "chat")


def _labels(config: Mapping[str, Any]) -> dict[str, Any]:
    """A run's ``tags`` and ``extra`` (its metadata) from a run config."""
    return {"tags": list(config.get("tags") or ()), "extra": {"metadata": _metadata(config)}}


def _metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's metadata plus its thread, which LangSmith uses to group a conversation's traces."""
    metadata = dict(config.get("metadata") or {})
    thread = (config.get("configurable") or {}).get("thread_id")
    if thread:
        metadata.setdefault("thread_id", thread)
    return metadata


def _span_attributes(feedback: Sequence[TraceFeedback], release: str) -> dict[str, Any]:
    """``eco2.feedback.{key}.score`` / ``.value`` per score, and the release."""
    attributes: dict[str, Any] = {"eco2.release": release}
    for item in feedback:
        if item.score is not None:
            attributes[f"eco2.feedback.{item.key}.score"] = float(item.score)
        if item.value is not None:
            attributes[f"eco2.feedback.{item.key}.value"] = item.value
    return attributes


def _root_id_and_start(root: str) -> tuple[uuid.UUID, datetime]:
    """The root run's id and start time, read from its dotted order (``<start>Z<id>``)."""
    if "." in root or len(root) <= _STAMP_LEN:
        raise ValueError("not the dotted order of a root run")
    start = datetime.strptime(root[:_STAMP_LEN], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    return uuid.UUID(root[_STAMP_LEN:]), start


def _root_tree(root: str, client: Client, project: str, **fields: Any) -> RunTree:
    """A ``RunTree`` standing for the root run, rebuilt from its dotted order.

    Built directly rather than with ``RunTree.from_dotted_order``, which also sets a context variable
    meant for re-rooting replicas and never resets it.
    """
    run_id, start = _root_id_and_start(root)
    fields.setdefault("name", "chat")
    return RunTree(
        id=run_id,
        trace_id=run_id,
        dotted_order=root,
        start_time=start,
        run_type="chain",
        project_name=project,
        ls_client=client,
        **fields,
    )
