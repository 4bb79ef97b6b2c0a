"""One place that builds ``ChatOpenAI`` clients and translates OpenAI errors into eco2's tree."""

from __future__ import annotations

from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from eco2.adapters.openai.errors import translate as translate_openai
from eco2.config import Settings
from eco2.errors import NotConfiguredError, UpstreamError


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
    return translate_openai(exc, "openai")
