"""The article's LangSmith settings functions, taking :class:`Settings` instead of reading the environment.

Kept free of ``langsmith`` imports (except when tracing must be switched off), so deciding that tracing is
off costs nothing at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from eco2.config import Settings

log = logging.getLogger(__name__)

TracingMode = Literal["off", "langsmith", "hybrid", "otel"]
"""Where runs go: nowhere, LangSmith, LangSmith and OpenTelemetry, or OpenTelemetry only."""


def is_langsmith_enabled(settings: Settings) -> bool:
    """LangSmith tracing is on when it is requested and a key exists (a run without a key is refused)."""
    return settings.langsmith_tracing and settings.langsmith_api_key is not None


def configure_langsmith(settings: Settings) -> bool:
    """Decide once, at start-up, whether runs go to LangSmith, and say so in the log. Returns the decision.

    Tracing requested without a key is switched off explicitly: LangChain would otherwise read
    ``LANGSMITH_TRACING`` itself and try, and fail, to send every run.
    """
    if not settings.langsmith_tracing:
        log.info("LangSmith tracing disabled")
        return False
    if settings.langsmith_api_key is None:
        log.warning("LANGSMITH_TRACING is on but LANGSMITH_API_KEY is not set: LangSmith tracing stays off")
        import langsmith

        langsmith.configure(enabled=False)
        return False
    log.info("LangSmith tracing enabled (project %s)", settings.langsmith_project)
    return True


def tracing_mode(langsmith_on: bool, otel_on: bool) -> TracingMode:
    """The langsmith client's ``tracing_mode`` for this combination (``off`` needs no client at all)."""
    if langsmith_on:
        return "hybrid" if otel_on else "langsmith"
    return "otel" if otel_on else "off"


def get_run_config(
    job_id: str,
    session_id: str | None = None,
    user_id: str | None = None,
    intent: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The LangGraph config of a chat: name, filterable tags and metadata, and the conversation thread.

    Defensive copies: neither ``tags`` nor ``metadata`` is mutated, and nothing in the result is shared
    with them.
    """
    run_tags = list(tags) if tags else []
    if intent:
        run_tags.append(f"intent:{intent}")
    run_metadata: dict[str, Any] = {"job_id": job_id, "user_id": user_id, "intent": intent}
    if metadata:
        run_metadata.update(metadata)
    config: dict[str, Any] = {
        "run_name": f"chat:{job_id}",
        "tags": run_tags,
        "metadata": run_metadata,
        "configurable": {},
    }
    if session_id:
        config["configurable"]["thread_id"] = session_id
    return config
