"""The public job contract: validating the kwargs of ``eco2.chat.process``.

Other teams' backends enqueue jobs by task name without importing eco2, so this module is the single
authority on what a valid job looks like. Every rejection has a stable ``code`` (see docs/contract.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from eco2.errors import ContractError

JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_MESSAGE_CHARS = 4000
MAX_METADATA_KEYS = 20
MAX_ID_CHARS = 256
MAX_METADATA_VALUE_CHARS = 1000
MAX_URL_CHARS = 2048
ALLOWED_FIELDS = frozenset(
    {
        "job_id",
        "message",
        "session_id",
        "session_seq",
        "multitask_strategy",
        "user_id",
        "user_location",
        "image_url",
        "metadata",
    }
)
MULTITASK_STRATEGIES = ("enqueue", "reject", "interrupt", "rollback")
"""What a message does when its session is busy (docs/contract.md, "Double-texting")."""
MAX_SESSION_SEQ = 2**53
"""Largest ``session_seq``: every JSON reader (JavaScript included) holds it exactly."""


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position from the user's device."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One validated chat job."""

    job_id: str
    message: str
    session_id: str | None = None
    session_seq: int | None = None
    """The message's number in its session, from the producer (1, 2, 3...): the session runs in this order
    even when two workers take its messages at the same instant (docs/contract.md)."""
    multitask_strategy: str = "enqueue"
    """``enqueue`` (wait), ``reject`` (end at once with ``session_busy``), ``interrupt`` (cancel the session's
    running and earlier queued jobs, keeping what they answered in its memory) or ``rollback`` (the same,
    leaving no trace of them)."""
    user_id: str | None = None
    user_location: GeoPoint | None = None
    image_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_kwargs(self) -> dict[str, Any]:
        """The contract kwargs again (JSON-safe), e.g. to re-enqueue a job queued behind its session."""
        out: dict[str, Any] = {"job_id": self.job_id, "message": self.message}
        if self.session_id is not None:
            out["session_id"] = self.session_id
        if self.session_seq is not None:
            out["session_seq"] = self.session_seq
        if self.multitask_strategy != "enqueue":
            out["multitask_strategy"] = self.multitask_strategy
        if self.user_id is not None:
            out["user_id"] = self.user_id
        if self.user_location is not None:
            out["user_location"] = {
                "latitude": self.user_location.latitude,
                "longitude": self.user_location.longitude,
            }
        if self.image_url is not None:
            out["image_url"] = self.image_url
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


def _text(value: str) -> bool:
    """Whether ``value`` is text every store can hold: it encodes as UTF-8 (no lone surrogates, which JSON's
    ``\\ud800`` escapes can carry and which fail the first Redis key or write that meets them)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_job_id(value: object) -> str | None:
    """The job id if it is one the stream keys can carry, else ``None``."""
    if isinstance(value, str) and JOB_ID_RE.fullmatch(value):
        return value
    return None


def _optional_id(kwargs: Mapping[str, Any], name: str) -> str | None:
    value = kwargs.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS or not _text(value):
        raise ContractError(
            f"invalid_{name}", f"{name} must be a non-empty string of at most {MAX_ID_CHARS} valid characters"
        )
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _location(value: object) -> GeoPoint | None:
    if value is None:
        return None
    problem = "user_location must be {latitude: -90..90, longitude: -180..180}"
    if not isinstance(value, Mapping) or set(value) != {"latitude", "longitude"}:
        raise ContractError("invalid_location", problem)
    lat, lon = _number(value["latitude"]), _number(value["longitude"])
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ContractError("invalid_location", problem)
    return GeoPoint(lat, lon)


def _session_seq(value: object, session_id: str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SESSION_SEQ:
        raise ContractError("invalid_session_seq", f"session_seq must be an integer from 1 to {MAX_SESSION_SEQ}")
    if session_id is None:
        raise ContractError("invalid_session_seq", "session_seq numbers the messages of a session: send session_id")
    return value


def _strategy(value: object) -> str:
    if value not in MULTITASK_STRATEGIES:
        raise ContractError("invalid_multitask_strategy", f"multitask_strategy must be one of {MULTITASK_STRATEGIES}")
    return str(value)


def _image_url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS or not _text(value):
        raise ContractError("invalid_image_url", "image_url must be an http(s) URL string")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ContractError("invalid_image_url", "image_url must be an http(s) URL with a host")
    return value


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > MAX_METADATA_KEYS:
        raise ContractError("invalid_metadata", f"metadata must be an object of at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str) or len(item) > MAX_METADATA_VALUE_CHARS:
            raise ContractError("invalid_metadata", "metadata keys and values must be strings")
        if not _text(key) or not _text(item):
            raise ContractError("invalid_metadata", "metadata keys and values must be valid text")
    return dict(value)


def parse_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> ChatRequest:
    """Validate a job's task arguments; raise :class:`ContractError` with a stable code when they are bad."""
    if args:
        raise ContractError("positional_args", "eco2.chat.process takes keyword arguments only")
    unknown = sorted(ascii(key)[:64] for key in kwargs if key not in ALLOWED_FIELDS)
    if unknown:
        raise ContractError("unknown_field", f"unknown field(s): {', '.join(unknown)[:200]}")
    if "job_id" not in kwargs:
        raise ContractError("missing_job_id", "job_id is required")
    job_id = valid_job_id(kwargs["job_id"])
    if job_id is None:
        raise ContractError("invalid_job_id", "job_id must be 1-128 characters of [A-Za-z0-9_.:-]")
    message = kwargs.get("message")
    if not isinstance(message, str):
        raise ContractError("invalid_message", "message must be a string")
    if not _text(message):
        raise ContractError("invalid_message", "message must be valid text (it holds a lone surrogate)")
    message = message.strip()
    if not message:
        raise ContractError("empty_message", "message is empty")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ContractError("message_too_long", f"message is longer than {MAX_MESSAGE_CHARS} characters")
    session_id = _optional_id(kwargs, "session_id")
    return ChatRequest(
        job_id=job_id,
        message=message,
        session_id=session_id,
        session_seq=_session_seq(kwargs.get("session_seq"), session_id),
        multitask_strategy=_strategy(kwargs.get("multitask_strategy", "enqueue")),
        user_id=_optional_id(kwargs, "user_id"),
        user_location=_location(kwargs.get("user_location")),
        image_url=_image_url(kwargs.get("image_url")),
        metadata=_metadata(kwargs.get("metadata")),
    )
