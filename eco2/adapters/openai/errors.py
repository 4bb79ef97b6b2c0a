"""One translation of OpenAI client errors into eco2's tree, for every OpenAI adapter.

Retryable: timeouts, connection failures (also those of a streamed body being read), 408, 409, 429 (except
``insufficient_quota``: billing), 5xx.
Permanent: the other 4xx (``content_policy_violation`` as :class:`ContentPolicyError`), malformed
responses. Messages name the upstream, the status, a short machine code and OpenAI's request id; never the
server's message, which can echo the key ("Incorrect API key provided: sk-...") or quote the prompt.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import NoReturn

import openai

from eco2.errors import PermanentError, RetryableError, UpstreamError


def _transports() -> list[ModuleType]:
    """The HTTP libraries the installed SDK may read a stream with (httpx before openai 3, httpx2 since)."""
    found = []
    for name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


_TRANSPORTS = _transports()
_TIMEOUTS: tuple[type[BaseException], ...] = tuple(m.TimeoutException for m in _TRANSPORTS)
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = tuple(m.TransportError for m in _TRANSPORTS)

_STATUS_WORDS = {401: "authentication failed", 403: "permission denied", 429: "quota exhausted"}
_CODE = re.compile(r"^[a-z_]{1,40}$")


class ContentPolicyError(PermanentError):
    """OpenAI's safety system rejected the request (``content_policy_violation``)."""


def translate(exc: BaseException, label: str = "openai") -> UpstreamError:
    """Map an ``openai`` (or wrapping) exception to retryable or permanent."""
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, label)
    # Raw transport errors surface while a streamed response is being read (the SDK wraps only the request).
    if isinstance(exc, (openai.APITimeoutError, *_TIMEOUTS)):  # before APIConnectionError, its base class
        return RetryableError(f"{label}: timed out")
    if isinstance(exc, (openai.APIConnectionError, *_TRANSPORT_ERRORS)):
        return RetryableError(f"{label}: connection failed")
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return PermanentError(f"{label}: malformed response")
    return PermanentError(f"{label}: {type(exc).__name__}")


def raise_translated(exc: BaseException, label: str = "openai") -> NoReturn:
    """Raise ``translate(exc)``; an HTTP error is not chained to the SDK exception (its body may hold
    the key or the prompt, and a chained cause reaches logged tracebacks)."""
    translated = translate(exc, label)
    if isinstance(exc, openai.APIStatusError):
        raise translated from None
    raise translated from exc


def _status_error(exc: openai.APIStatusError, label: str) -> UpstreamError:
    status = exc.status_code
    code = str(exc.code or "")
    code = code if _CODE.match(code) else ""
    request = f" (request {exc.request_id})" if exc.request_id else ""
    if (status == 429 and code != "insufficient_quota") or status in (408, 409) or status >= 500:
        kind = "rate limited" if status == 429 else "server error" if status >= 500 else "try again"
        return RetryableError(f"{label}: HTTP {status} {kind}{request}")
    if code == "content_policy_violation":
        return ContentPolicyError(f"{label}: HTTP {status} rejected by the content policy{request}")
    detail = _STATUS_WORDS.get(status, code)
    return PermanentError(f"{label}: HTTP {status}" + (f" {detail}" if detail else "") + request)
