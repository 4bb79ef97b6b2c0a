"""The exception tree of eco2.

Adapters translate library exceptions at the boundary (``raise ... from exc``) into this small tree so
that the task layer decides about retries by class, never by parsing messages::

    Eco2Error
    ├── ConfigError                 settings are missing or malformed (fatal at start-up)
    ├── ContractError               a chat job's kwargs break the public contract (never retried)
    ├── StreamError                 the event stream could not be written
    │   └── JobFinishedError        a write after the job's terminal event (ignored by callers)
    ├── ContinuationEarlyError      a round's results came before the state they continue was saved
    └── UpstreamError               a subagent's or the LLM's upstream failed
        ├── RetryableError          timeouts, 5xx, 429, gRPC UNAVAILABLE, Redis connection errors
        ├── PermanentError          4xx, invalid argument, malformed response
        └── NotConfiguredError      the upstream has no key/address configured: answer at once
"""

from __future__ import annotations


class Eco2Error(Exception):
    """Base of every error eco2 raises on purpose."""


class ConfigError(Eco2Error):
    """A setting is missing or malformed."""


class ContractError(Eco2Error):
    """A chat job's kwargs break the public contract.

    ``code`` is a stable machine-readable reason that goes into the ``error`` event; ``message`` is a short
    human-readable explanation that never echoes the offending payload in full.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StreamError(Eco2Error):
    """Writing to the job's event stream failed."""


class JobFinishedError(StreamError):
    """The job already has its terminal event; later writes are refused so it stays the last one."""


class JobEndedError(Eco2Error):
    """The job ended while this step ran (cancelled, or by its deadline): stop, close the model's stream,
    and write nothing more. Raised by the answer loop once its writer learns the job has its terminal event."""


class ContinuationEarlyError(Eco2Error):
    """A round's results arrived before the checkpoint that awaits them was saved: retry in a moment.

    The service sends a round before LangGraph writes the checkpoint (that write then overlaps the
    subagents), so a very fast round can overtake it; the continuation task retries shortly.
    """


class UpstreamError(Eco2Error):
    """An external dependency of a subagent (or the LLM) failed.

    ``summary`` is what the answer may tell the user about the failure, in Korean and free of secrets
    ("캐릭터 서비스에 연결할 수 없어요"); the runner puts it in the failed result's ``summary``.
    Empty: the answer names the missing information with a generic reason.
    """

    def __init__(self, *args: object, summary: str = "") -> None:
        super().__init__(*args)
        self.summary = summary


class RetryableError(UpstreamError):
    """A transient failure worth retrying with backoff."""


class PermanentError(UpstreamError):
    """A failure that retrying cannot fix."""


class NotConfiguredError(UpstreamError):
    """The upstream is not configured (no key); the subagent answers "not configured" without I/O."""
