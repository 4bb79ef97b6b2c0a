"""Keeps credentials out of log lines written by the HTTP libraries eco2 uses.

data.go.kr's APIs take their key as a query parameter (``serviceKey``), and at DEBUG urllib3 logs every
request line, query string included ("GET /getVilageFcst?serviceKey=...&pageNo=1"); httpx logs request
URLs at INFO. eco2's own messages never carry a key, but these libraries' do, so every record their loggers
create is rewritten with credential-looking query values (and ``Authorization`` values) replaced by
``[redacted]``, whatever the level and whoever configured the handlers. Installed by the Celery app and the
CLI.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

_QUERY_SECRET = re.compile(
    r"(?i)((?:service_?key|api_?key|access_?key|key|token|access_token|secret|password|passwd|sig|signature)"
    r"(?:%3D|=))[^&\s\"'<>]+"
)
_AUTH_HEADER = re.compile(
    r"(?i)((?:authorization|x-api-key|api-key)['\"]?\s*[:=,]\s*['\"]?)(?:bearer\s+|kakaoak\s+)?[^\s'\",}]+"
)

LOGGERS = ("urllib3", "requests", "httpx", "httpcore", "openai", "grpc", "ddgs", "primp")
"""Loggers (and their children) of libraries that may print a request line or its headers."""


def redact(text: str) -> str:
    """``text`` with credential-looking query values and authorization values replaced."""
    return _AUTH_HEADER.sub(r"\1" + REDACTED, _QUERY_SECRET.sub(r"\1" + REDACTED, text))


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not format: leave it to the handler's own error
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


_installed = False


def install() -> None:
    """Scrub every record the HTTP libraries create, from now on in this process (idempotent).

    A record factory rather than a filter: filters on a logger miss its children's records, and filters on
    handlers miss the handlers someone adds later (Celery, a user's logging config).
    """
    global _installed  # noqa: PLW0603 - one factory per process
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(LOGGERS):
            _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
