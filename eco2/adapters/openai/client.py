"""What every OpenAI adapter shares: error translation and the LangSmith ``llm`` run around a model call.

The adapters call the official ``openai`` client (``sdk_client`` below). Why not
langchain-openai's ``ChatOpenAI``: its callbacks, message conversion and per-chunk model building cost
several times the CPU of the call itself (``bench/bench_model_client.py``, figures in docs/benchmarks.md),
and on a host streaming hundreds of answers at once that decides how many fit. LangSmith still sees every
call: with tracing on, each is an ``llm`` run under the graph step that made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import openai
from langsmith.run_helpers import trace
from langsmith.utils import tracing_is_enabled
from openai.types.chat import ChatCompletionMessageParam

from eco2.adapters.openai.errors import translate as translate_openai
from eco2.config import Settings
from eco2.errors import NotConfiguredError, UpstreamError

DEFAULT_BASE_URL = "https://api.openai.com/v1"

MODEL_BREAKER = "openai"
"""The breaker of the chat model's calls (intent and answer), shared by every process through Redis."""

Message = ChatCompletionMessageParam
"""A Chat Completions message (``role`` and ``content``)."""


def sdk_client(settings: Settings, timeout_s: float, max_retries: int = 0) -> openai.OpenAI:
    """The official client for ``settings``: explicit base URL, no SDK retries unless asked (the task retries).

    The base URL is passed explicitly so the SDK never falls back to reading the environment itself.
    Constructing the client does no network I/O.
    """
    if settings.openai_api_key is None:
        raise NotConfiguredError("OPENAI_API_KEY is not set")
    return openai.OpenAI(
        api_key=settings.openai_api_key.reveal(),
        base_url=settings.openai_base_url or DEFAULT_BASE_URL,
        timeout=timeout_s,
        max_retries=max_retries,
    )


class _Untraced:
    """Stands in for a run when tracing is off."""

    def end(self, outputs: Mapping[str, Any] | None = None) -> None:
        """Nothing to record."""


def llm_run(name: str, model: str, messages: Sequence[Message]) -> AbstractContextManager[Any]:
    """A LangSmith ``llm`` run named ``name`` around a model call when tracing is on (``run.end(outputs=...)``
    records the answer); a no-op otherwise, so an untraced call pays nothing for it."""
    if not tracing_is_enabled():
        return nullcontext(_Untraced())
    metadata = {"ls_provider": "openai", "ls_model_name": model}
    return trace(name, run_type="llm", inputs={"messages": list(messages)}, metadata=metadata)


def translate(exc: Exception) -> UpstreamError:
    """Map an OpenAI/transport exception to retryable or permanent (the message never has the key)."""
    return translate_openai(exc, "openai")
