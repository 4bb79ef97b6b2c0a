"""One place that builds ``ChatOpenAI`` clients and translates OpenAI errors into eco2's tree."""

from __future__ import annotations

import openai
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from eco2.config import Settings
from eco2.errors import NotConfiguredError, PermanentError, RetryableError, UpstreamError


def chat_model(settings: Settings, model: str, streaming: bool, temperature: float = 0.3) -> ChatOpenAI:
    """A ``ChatOpenAI`` for ``model``; the client retries once itself, eco2 handles the rest."""
    if settings.openai_api_key is None:
        raise NotConfiguredError("OPENAI_API_KEY is not set")
    return ChatOpenAI(
        model=model,
        api_key=SecretStr(settings.openai_api_key.reveal()),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_s,
        max_retries=1,
        streaming=streaming,
        temperature=temperature,
    )


def translate(exc: Exception) -> UpstreamError:
    """Map an OpenAI/langchain exception to retryable or permanent (the message never has the key)."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return RetryableError(f"openai: {type(exc).__name__}")
    if isinstance(exc, openai.InternalServerError):
        return RetryableError(f"openai: server error {exc.status_code}")
    if isinstance(exc, openai.APIStatusError):
        return PermanentError(f"openai: HTTP {exc.status_code}")
    return PermanentError(f"openai: {type(exc).__name__}")
