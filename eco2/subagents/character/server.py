"""The character service: ``character.v1.CharacterService`` served from the catalogue over gRPC.

``eco2 character-server`` runs it. Next to the service the server registers gRPC's standard health
service (``grpc.health.v1.Health``) so Kubernetes probes and ``grpc_health_probe`` see ``SERVING``; on
SIGTERM it reports ``NOT_SERVING`` first, then stops accepting calls and lets running ones finish within
the grace period. TLS is optional (a certificate and key in PEM files).

Errors follow gRPC's status codes so the client can tell what retrying can fix: ``INVALID_ARGUMENT`` for
a request that can never succeed, ``NOT_FOUND`` for an unknown ``character_code``. An unknown
``match_label`` is an ordinary answer (``found=false``), as the proto documents.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from eco2.errors import ConfigError
from eco2.subagents.character.catalogue import (
    ACTION_LABELS,
    MAX_REWARD_COUNT,
    REWARD_ACTIONS,
    Catalogue,
    CharacterEntry,
    load_catalogue,
)
from eco2.subagents.character.proto.character.v1 import character_pb2 as pb
from eco2.subagents.character.proto.character.v1 import character_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = "character.v1.CharacterService"
"""The fully qualified service name (also the health service's key for it)."""
DEFAULT_ADDR = "0.0.0.0:50051"
"""Where ``eco2 character-server`` listens by default: all interfaces, as workers on other hosts call it."""

_ACTION_NAMES = dict(zip((1, 2, 3), REWARD_ACTIONS, strict=True))


def _character(entry: CharacterEntry) -> dict[str, Any]:
    """The character fields shared by the by-match and default responses."""
    return {
        "character_name": entry.name,
        "character_type": entry.character_type,
        "character_dialog": entry.dialog[0],
        "match_label": entry.match_label,
        "character_code": entry.code,
        "profile": _profile(entry),
    }


def _profile(entry: CharacterEntry) -> pb.CharacterProfile:
    return pb.CharacterProfile(
        category_name=entry.category_name,
        personality=entry.personality,
        likes=list(entry.likes),
        dialog_lines=list(entry.dialog),
        how_to_meet=entry.how_to_meet,
        badge_name=entry.badge_name,
        badge_threshold=entry.badge_threshold,
    )


class CharacterServicer(pb_grpc.CharacterServiceServicer):
    """Answers the four RPCs from a catalogue (immutable, so shared safely by the thread pool)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    def GetCharacterByMatch(  # noqa: N802 - the name is the RPC's, set by the generated base class
        self, request: pb.GetCharacterByMatchRequest, context: grpc.ServicerContext
    ) -> pb.GetCharacterByMatchResponse:
        """The character of a category id or Korean label; ``found=false`` for an unknown label."""
        label = request.match_label.strip()
        if not label:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "match_label is required")
        entry = self._catalogue.by_label(label)
        if entry is None:
            return pb.GetCharacterByMatchResponse(found=False, match_label=label)
        return pb.GetCharacterByMatchResponse(found=True, **_character(entry))

    def GetDefaultCharacter(  # noqa: N802 - the name is the RPC's, set by the generated base class
        self, request: pb.GetDefaultCharacterRequest, context: grpc.ServicerContext
    ) -> pb.GetDefaultCharacterResponse:
        """The representative character."""
        return pb.GetDefaultCharacterResponse(**_character(self._catalogue.default))

    def GetCharacterReward(  # noqa: N802 - the name is the RPC's, set by the generated base class
        self, request: pb.GetCharacterRewardRequest, context: grpc.ServicerContext
    ) -> pb.GetCharacterRewardResponse:
        """Points for ``count`` actions and, for correct disposals, the progress towards the badge."""
        code = request.character_code.strip()
        action = _ACTION_NAMES.get(request.action)
        if not code:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "character_code is required")
        if action is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "action must be one of the RewardAction values")
        if not 1 <= request.count <= MAX_REWARD_COUNT:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"count must be within 1..{MAX_REWARD_COUNT}")
        entry = self._catalogue.by_code(code)
        if entry is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no character has this character_code")
        per_action = self._catalogue.points[action]
        progress = request.count if action == "correct_disposal" else 0
        unlocked = progress >= entry.badge_threshold
        remaining = max(0, entry.badge_threshold - progress)
        return pb.GetCharacterRewardResponse(
            character_code=entry.code,
            character_name=entry.name,
            action=request.action,
            count=request.count,
            points_per_action=per_action,
            points=per_action * request.count,
            badge_name=entry.badge_name,
            badge_threshold=entry.badge_threshold,
            badge_unlocked=unlocked,
            remaining_for_badge=remaining,
            message=_reward_line(entry, action, request.count, per_action * request.count, remaining),
        )

    def ListCharacters(  # noqa: N802 - the name is the RPC's, set by the generated base class
        self, request: pb.ListCharactersRequest, context: grpc.ServicerContext
    ) -> pb.ListCharactersResponse:
        """Every character, the representative one first."""
        ordered = sorted(self._catalogue.characters, key=lambda c: not c.default)
        return pb.ListCharactersResponse(
            characters=[
                pb.CharacterSummary(
                    character_code=c.code,
                    character_name=c.name,
                    character_type=c.character_type,
                    match_label=c.match_label,
                    category_name=c.category_name,
                )
                for c in ordered
            ]
        )


def _reward_line(entry: CharacterEntry, action: str, count: int, points: int, remaining: int) -> str:
    label = ACTION_LABELS[action]
    if action != "correct_disposal":
        return (
            f"{label} {count}번이면 {points}포인트야! '{entry.badge_name}' 배지는 "
            f"{entry.category_name} 품목을 올바르게 버려야 모여."
        )
    if remaining == 0:
        return f"{count}번이나 제대로 버렸구나! {points}포인트와 '{entry.badge_name}' 배지는 네 거야."
    return f"{points}포인트 적립! {remaining}번만 더 올바르게 버리면 '{entry.badge_name}' 배지를 줄게."


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The server's certificate chain and private key, PEM encoded."""

    cert: Path
    key: Path

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials from the files (a missing file is a configuration error)."""
        try:
            pair = (self.key.read_bytes(), self.cert.read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read the TLS certificate or key: {exc.filename}") from exc
        return grpc.ssl_server_credentials([pair])


class CharacterServer:
    """A started server: the port it bound, and a graceful stop."""

    def __init__(self, server: grpc.Server, port: int, health_servicer: health.HealthServicer) -> None:
        self._server = server
        self._health = health_servicer
        self.port = port
        """The bound port (the chosen one when the address asked for port 0)."""

    def stop(self, grace_s: float = 5.0) -> None:
        """Report NOT_SERVING, refuse new calls, give running ones ``grace_s`` seconds, then stop."""
        self._health.enter_graceful_shutdown()
        self._server.stop(grace_s).wait()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the server stops (or ``timeout_s`` passes); True when it stopped."""
        return self._server.wait_for_termination(timeout_s)


def start_server(
    addr: str = DEFAULT_ADDR,
    catalogue: Catalogue | None = None,
    *,
    tls: TlsFiles | None = None,
    servicer: pb_grpc.CharacterServiceServicer | None = None,
    max_workers: int = 8,
) -> CharacterServer:
    """Bind ``addr`` (``host:0`` picks a free port), register the service and health, and start."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="character-grpc"),
        # Without this, a second server on the same port would start silently and share the traffic.
        options=[("grpc.so_reuseport", 0)],
    )
    pb_grpc.add_CharacterServiceServicer_to_server(servicer or CharacterServicer(catalogue or load_catalogue()), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        port = server.add_secure_port(addr, tls.credentials()) if tls else server.add_insecure_port(addr)
    except RuntimeError as exc:  # grpc reports a failed bind this way
        server.stop(None)
        raise OSError(f"cannot listen on {addr}") from exc
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("character service listening on %s (port %d, tls=%s)", addr, port, tls is not None)
    return CharacterServer(server, port, health_servicer)


def run_until_signalled(server: CharacterServer, grace_s: float = 5.0) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (call from the main thread)."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping the character service", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop.wait()
    finally:
        server.stop(grace_s)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
