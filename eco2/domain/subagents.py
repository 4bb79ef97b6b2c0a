"""What goes into and comes out of a subagent: JSON-safe values that cross Celery as plain dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from eco2.domain.request import ChatRequest, GeoPoint


class ResultStatus(StrEnum):
    """Outcome of one subagent call."""

    OK = "ok"
    """Useful data."""
    WEAK = "weak"
    """Data of doubtful relevance (e.g. retrieval quality under threshold): may trigger a fallback."""
    EMPTY = "empty"
    """The upstream answered with nothing."""
    NEEDS_INPUT = "needs_input"
    """The subagent needs something from the user (e.g. a location)."""
    NOT_CONFIGURED = "not_configured"
    """No key/address is configured; answered at once without I/O."""
    TIMEOUT = "timeout"
    """The subagent's time limit passed."""
    FAILED = "failed"
    """The upstream failed (after retries, or permanently)."""

    @property
    def usable(self) -> bool:
        """Whether the answer can rely on this result."""
        return self is ResultStatus.OK


class FailMode(StrEnum):
    """What a failed or unusable result does to the chat (declared per subagent in the registry)."""

    OPEN = "open"
    """Answer without it and say what is missing (a partial answer)."""
    FALLBACK = "fallback"
    """Try the subagent's fallback (waste_rag -> web_search -> general)."""
    CLOSED = "closed"
    """The chat cannot be answered without it: the job ends with an ``error`` event."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact in the answer comes from."""

    title: str
    url: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON form used in results and the ``done`` event."""
        return {"title": self.title, "url": self.url}


@dataclass(frozen=True, slots=True)
class SubagentQuery:
    """The input of every subagent: the user's request plus what earlier rounds found out."""

    job_id: str
    message: str
    intents: tuple[str, ...]
    user_location: GeoPoint | None = None
    image_url: str | None = None
    hints: dict[str, str] = field(default_factory=dict)
    """Facts from earlier rounds, e.g. ``{"item": "페트병"}`` from vision."""

    @classmethod
    def for_request(
        cls, request: ChatRequest, intents: list[str], hints: dict[str, str] | None = None
    ) -> SubagentQuery:
        """Build the query of one chat round."""
        return cls(
            job_id=request.job_id,
            message=request.message,
            intents=tuple(intents),
            user_location=request.user_location,
            image_url=request.image_url,
            hints=dict(hints or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (Celery kwargs)."""
        location = None
        if self.user_location is not None:
            location = {"latitude": self.user_location.latitude, "longitude": self.user_location.longitude}
        return {
            "job_id": self.job_id,
            "message": self.message,
            "intents": list(self.intents),
            "user_location": location,
            "image_url": self.image_url,
            "hints": dict(self.hints),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubagentQuery:
        """Inverse of :meth:`to_dict`."""
        loc = data.get("user_location")
        return cls(
            job_id=str(data["job_id"]),
            message=str(data["message"]),
            intents=tuple(str(i) for i in data.get("intents", ())),
            user_location=GeoPoint(float(loc["latitude"]), float(loc["longitude"])) if loc else None,
            image_url=data.get("image_url"),
            hints={str(k): str(v) for k, v in (data.get("hints") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class SubagentResult:
    """What one subagent found; ``summary`` is Korean text the answer composer can use as is."""

    name: str
    status: ResultStatus
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    error: str = ""
    """A short, secret-free reason when the status is not OK."""
    duration_s: float = 0.0
    attempts: int = 1
    reported: bool = True
    """Whether the task wrote this stage's events itself; ``False`` when it ended within the stream's
    coalescing window and left them to the continuation's first write (``eco2/subagents/progress.py``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (Celery result, graph state)."""
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "data": self.data,
            "sources": [s.to_dict() for s in self.sources],
            "error": self.error,
            "duration_s": round(self.duration_s, 4),
            "attempts": self.attempts,
            "reported": self.reported,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubagentResult:
        """Inverse of :meth:`to_dict`; tolerant of missing optional fields."""
        return cls(
            name=str(data["name"]),
            status=ResultStatus(data["status"]),
            summary=str(data.get("summary", "")),
            data=dict(data.get("data") or {}),
            sources=tuple(Source(str(s.get("title", "")), str(s.get("url", ""))) for s in data.get("sources") or ()),
            error=str(data.get("error", "")),
            duration_s=float(data.get("duration_s", 0.0)),
            attempts=int(data.get("attempts", 1)),
            reported=data.get("reported") is not False,  # results of older workers reported themselves
        )
