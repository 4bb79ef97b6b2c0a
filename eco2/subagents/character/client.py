"""Client of ``character.v1.CharacterService``: deadlines, retries, a breaker, and eco2's error tree.

Every call gets its own deadline and is retried, with exponential backoff and jitter, only on
``UNAVAILABLE`` (server down or restarting, connection refused, TLS handshake failed) and
``DEADLINE_EXCEEDED`` (slow server). The loop is ours rather than gRPC's service-config retry policy
because there the deadline covers all attempts together, so a slow first attempt would leave none for
the second. What is still failing after the last attempt is a :class:`RetryableError` (the subagent task
may retry later); every other status (``INVALID_ARGUMENT``, ``NOT_FOUND``, ``UNIMPLEMENTED``,
``INTERNAL``...) is a :class:`PermanentError` at once. The whole retried call runs through the
``character`` breaker, so one exhausted call counts as one failure.

The channel is opened on the first call, not in the constructor: subagent factories do no I/O, and a
Celery prefork child must not inherit a channel from its parent (a changed pid reopens it). The target may
be a function giving the address at that moment: the embedded service (``embedded.py``) starts there.
Opening the channel tells the breakers where the service is, so a breaker that opens names the address.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import PermanentError, RetryableError
from eco2.subagents.character.catalogue import REWARD_ACTIONS
from eco2.subagents.character.proto.character.v1 import character_pb2 as pb
from eco2.subagents.character.proto.character.v1 import character_pb2_grpc as pb_grpc

__all__ = ["RETRYABLE_CODES", "CharacterClient", "CharacterInfo", "CharacterListing", "RewardInfo"]

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
"""The only statuses worth another attempt."""

_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # gRPC waits 1 s (growing to 120 s) before reconnecting to a server that refused it; a restarted
    # character server should be found again within one of our backoffs.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
)
_ACTION_VALUES = dict(zip(REWARD_ACTIONS, (1, 2, 3), strict=True))

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


@dataclass(frozen=True, slots=True)
class CharacterInfo:
    """A character as the service describes it."""

    code: str
    name: str
    character_type: str
    dialog: str
    """The greeting line (``character_dialog``)."""
    match_label: str
    category_name: str = ""
    personality: str = ""
    likes: tuple[str, ...] = ()
    dialog_lines: tuple[str, ...] = ()
    how_to_meet: str = ""
    badge_name: str = ""
    badge_threshold: int = 0


@dataclass(frozen=True, slots=True)
class CharacterListing:
    """One line of ``ListCharacters``."""

    code: str
    name: str
    character_type: str
    match_label: str
    category_name: str


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """What ``count`` times ``action`` earns with one character."""

    character_code: str
    character_name: str
    action: str
    count: int
    points_per_action: int
    points: int
    badge_name: str
    badge_threshold: int
    badge_unlocked: bool
    remaining_for_badge: int
    message: str


class CharacterClient:
    """Calls the character service at ``target`` (``host:port``, or a function returning it when the channel
    opens); safe to share between threads."""

    name = "character"
    """The breaker and error-message name of this upstream."""

    def __init__(
        self,
        target: str | Callable[[], str],
        breakers: Breakers,
        *,
        tls: bool = False,
        ca_path: Path | None = None,
        deadline_s: float = 1.0,
        attempts: int = 3,
        backoff_s: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if attempts < 1 or deadline_s <= 0:
            raise ValueError("attempts must be >= 1 and deadline_s > 0")
        self._target = target
        self._address = ""
        self.deadline_s = deadline_s
        self.attempts = attempts
        self._breakers = breakers
        if isinstance(target, str):  # known now: even a breaker another process opened is logged with it
            self._locate(target)
        self._tls = tls
        self._ca_path = ca_path
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._options = (*_CHANNEL_OPTIONS, *options)
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.CharacterServiceStub | None = None
        self._pid = 0

    @property
    def target(self) -> str:
        """The address called (a function's once the channel has opened; ``embedded`` before)."""
        return self._address or "embedded"

    def get_by_match(self, match_label: str) -> CharacterInfo | None:
        """The character of a waste category id (or Korean label); ``None`` when the service has none."""
        request = pb.GetCharacterByMatchRequest(match_label=match_label)
        response = self._invoke("GetCharacterByMatch", lambda s: s.GetCharacterByMatch, request)
        if not response.found:
            return None
        return self._info(response, response.profile)

    def get_default(self) -> CharacterInfo:
        """The representative character."""
        response = self._invoke("GetDefaultCharacter", lambda s: s.GetDefaultCharacter, pb.GetDefaultCharacterRequest())
        return self._info(response, response.profile)

    def get_reward(self, character_code: str, action: str = "correct_disposal", count: int = 1) -> RewardInfo:
        """Points and badge progress; ``action`` is one of :data:`REWARD_ACTIONS`."""
        if action not in _ACTION_VALUES:
            raise PermanentError(f"{self.name}: unknown reward action {action!r}")
        request = pb.GetCharacterRewardRequest(
            character_code=character_code,
            action=pb.RewardAction.ValueType(_ACTION_VALUES[action]),
            count=count,
        )
        r = self._invoke("GetCharacterReward", lambda s: s.GetCharacterReward, request)
        if not r.character_code or not r.character_name:
            raise PermanentError(f"{self.name}: malformed GetCharacterReward response")
        return RewardInfo(
            r.character_code,
            r.character_name,
            action,
            r.count,
            r.points_per_action,
            r.points,
            r.badge_name,
            r.badge_threshold,
            r.badge_unlocked,
            r.remaining_for_badge,
            r.message,
        )

    def list_characters(self) -> tuple[CharacterListing, ...]:
        """Every character, the representative one first."""
        response = self._invoke("ListCharacters", lambda s: s.ListCharacters, pb.ListCharactersRequest())
        return tuple(
            CharacterListing(c.character_code, c.character_name, c.character_type, c.match_label, c.category_name)
            for c in response.characters
        )

    def close(self) -> None:
        """Close the channel (the next call opens a new one)."""
        with self._lock:
            if self._channel is not None and self._pid == os.getpid():
                self._channel.close()
            self._channel, self._stub = None, None

    def _info(
        self, r: pb.GetCharacterByMatchResponse | pb.GetDefaultCharacterResponse, p: pb.CharacterProfile
    ) -> CharacterInfo:
        if not r.character_code or not r.character_name:
            raise PermanentError(f"{self.name}: malformed response (a character without code or name)")
        return CharacterInfo(
            code=r.character_code,
            name=r.character_name,
            character_type=r.character_type,
            dialog=r.character_dialog,
            match_label=r.match_label,
            category_name=p.category_name,
            personality=p.personality,
            likes=tuple(p.likes),
            dialog_lines=tuple(p.dialog_lines) or (r.character_dialog,),
            how_to_meet=p.how_to_meet,
            badge_name=p.badge_name,
            badge_threshold=p.badge_threshold,
        )

    def _invoke(
        self,
        method: str,
        pick: Callable[[pb_grpc.CharacterServiceStub], grpc.UnaryUnaryMultiCallable[_Req, _Resp]],
        request: _Req,
    ) -> _Resp:
        result: _Resp = self._breakers.call(self.name, self._with_retries, method, pick, request)
        return result

    def _with_retries(
        self,
        method: str,
        pick: Callable[[pb_grpc.CharacterServiceStub], grpc.UnaryUnaryMultiCallable[_Req, _Resp]],
        request: _Req,
    ) -> _Resp:
        rpc = pick(self._connected_stub())
        for attempt in range(1, self.attempts + 1):
            try:
                response: _Resp = rpc(request, timeout=self.deadline_s)
                return response
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
                if code not in RETRYABLE_CODES:
                    detail = (exc.details() or "")[:120] if isinstance(exc, grpc.Call) else ""
                    raise PermanentError(f"{self.name}: {method} failed with {code.name}: {detail}") from exc
                if attempt == self.attempts:
                    raise RetryableError(
                        f"{self.name}: {method} {code.name} after {attempt} attempt(s) of {self.deadline_s:g}s each"
                    ) from exc
            self._sleep(self._backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable: the loop returns or raises")

    def _connected_stub(self) -> pb_grpc.CharacterServiceStub:
        with self._lock:
            if self._stub is None or self._pid != os.getpid():
                self._channel = self._open_channel()
                self._stub = pb_grpc.CharacterServiceStub(self._channel)
                self._pid = os.getpid()
            return self._stub

    def _locate(self, address: str) -> None:
        self._address = address
        self._breakers.describe(self.name, f"character service at {address}")

    def _open_channel(self) -> grpc.Channel:
        try:
            address = self._target if isinstance(self._target, str) else self._target()
        except OSError as exc:  # the embedded service could not bind loopback
            raise RetryableError(f"{self.name}: the embedded service did not start: {exc}") from exc
        self._locate(address)
        if not self._tls:
            return grpc.insecure_channel(address, options=self._options)
        root: bytes | None = None
        if self._ca_path is not None:
            try:
                root = self._ca_path.read_bytes()
            except OSError as exc:
                raise PermanentError(f"{self.name}: cannot read the CA bundle {self._ca_path}") from exc
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
        return grpc.secure_channel(address, credentials, options=self._options)
