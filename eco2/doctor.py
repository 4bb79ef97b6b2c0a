"""``eco2 doctor``: is every upstream configured, reachable, fast, and is its breaker closed?

Probes are cheap and spend no API quota: an HTTP upstream is "reachable" when its host answers any HTTP
response to a GET of its base URL within the timeout (a 404 still proves DNS, TCP, TLS and the server),
the character service answers the standard gRPC health check (without ``ECO2_CHARACTER_GRPC_ADDR``, the
embedded one is started here and asked), Redis answers PING. Keys are never printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import requests

from eco2.adapters.openai.client import MODEL_BREAKER
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.registry import users_of


@dataclass(frozen=True, slots=True)
class Upstream:
    """One dependency to check."""

    name: str
    """Also its circuit breaker's name."""
    used_by: str
    configured: bool
    note: str
    probe: Callable[[float], None]
    """Raises when unreachable; gets the timeout in seconds."""
    breakers: tuple[str, ...] = ()
    """The registry's breaker names of this host (the worst state is shown)."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome for one upstream."""

    name: str
    used_by: str
    configured: bool
    reachable: bool | None
    latency_ms: float | None
    breaker: str
    detail: str


def _http(url: str) -> Callable[[float], None]:
    def probe(timeout: float) -> None:
        requests.get(url, timeout=timeout, allow_redirects=False)

    return probe


def _redis(url: str) -> Callable[[float], None]:
    def probe(timeout: float) -> None:
        redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping()

    return probe


def _amqp(url: str) -> Callable[[float], None]:
    def probe(timeout: float) -> None:
        from eco2.dispatch.producer import probe_broker

        probe_broker(url, timeout)

    return probe


def _grpc_health(addr: str, tls: bool) -> Callable[[float], None]:
    def probe(timeout: float) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        channel = grpc.secure_channel(addr, grpc.ssl_channel_credentials()) if tls else grpc.insecure_channel(addr)
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # generated stubs are untyped
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            if status.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError(f"health status {status.status}")
        finally:
            channel.close()

    return probe


def _embedded_character(timeout: float) -> None:
    """What a worker without ``ECO2_CHARACTER_GRPC_ADDR`` does: serve the catalogue on loopback, here too."""
    from eco2.subagents.character.embedded import EmbeddedCharacterService

    service = EmbeddedCharacterService()
    try:
        _grpc_health(service.address(), tls=False)(timeout)
    finally:
        service.stop()


def _used_by(breakers: tuple[str, ...], extra: str = "") -> str:
    names = dict.fromkeys(name for breaker in breakers for name in users_of(breaker))
    return ", ".join([*([extra] if extra else []), *names])


def upstreams(settings: Settings) -> list[Upstream]:
    """Every upstream eco2 can use, whether this configuration uses it, and its breakers (from the registry)."""
    openai_base = settings.openai_base_url or "https://api.openai.com/v1"
    rows = [
        (
            "redis",
            "broker, results, streams" if settings.broker_is_redis else "results, streams",
            True,
            settings.stream_redis_url.split("@")[-1],
            _redis(settings.stream_redis_url),
            (),
        ),
        (
            "rabbitmq",
            "broker",
            not settings.broker_is_redis,
            settings.broker_url.split("@")[-1],
            _amqp(settings.broker_url),
            (),
        ),
        (
            "openai",
            "intent, answer",
            settings.openai_api_key is not None,
            openai_base,
            _http(openai_base),
            (MODEL_BREAKER, "openai_vision", "openai_images", "openai_web_search"),
        ),
        (
            "kakao",
            "",
            settings.kakao_api_key is not None,
            settings.kakao_base_url,
            _http(settings.kakao_base_url),
            ("kakao",),
        ),
        ("kma", "", settings.data_go_kr_key is not None, settings.kma_base_url, _http(settings.kma_base_url), ("kma",)),
        (
            "mois",
            "",
            settings.data_go_kr_key is not None,
            settings.mois_base_url,
            _http(settings.mois_base_url),
            ("mois",),
        ),
        (
            "odcloud",
            "",
            (settings.keco_api_key or settings.data_go_kr_key) is not None,
            settings.odcloud_base_url,
            _http(settings.odcloud_base_url),
            ("odcloud",),
        ),
        (
            "character",
            "",
            True,
            settings.character_grpc_addr or "embedded: each worker process serves it on loopback",
            _grpc_health(settings.character_grpc_addr, settings.character_grpc_tls)
            if settings.character_grpc_addr
            else _embedded_character,
            ("character",),
        ),
    ]
    return [
        Upstream(name, _used_by(breakers, extra), configured, note, probe, breakers)
        for name, extra, configured, note, probe, breakers in rows
    ]


def _breaker_state(upstream: Upstream, breakers: Breakers | None) -> str:
    """The worst state among the upstream's breakers (``-`` for none)."""
    if breakers is None or not upstream.breakers:
        return "-"
    try:
        states = [breakers.state(name) for name in upstream.breakers]
    except Exception:  # a broken Redis is reported on the redis row
        return "unknown"
    return next((s for s in ("open", "half_open") if s in states), "closed")


_CAUSES = (
    (("refused", "econnrefused"), "connection refused"),
    (("timed out", "timeout", "deadline"), "timed out"),
    (("ssl", "tls", "certificate", "handshake"), "TLS failed"),
    (("401", "403", "unauthori", "forbidden", "access_refused", "authentication"), "unauthorised"),
    (("name or service not known", "nodename", "getaddrinfo", "name resolution", "no address"), "host not found"),
    (("reset by peer", "connection reset", "broken pipe", "eof"), "connection dropped"),
)


def cause(exc: BaseException) -> str:
    """Why a probe failed, in words (refused, timed out, TLS, unauthorised...), from the exception and the
    exceptions it wraps; the class name only when none of them says."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    details = getattr(exc, "details", None)  # gRPC's RpcError keeps its reason here
    text = " ".join([*(f"{type(e).__name__} {e}" for e in seen), str(details() if callable(details) else "")])
    lowered = text.lower()
    for needles, words in _CAUSES:
        if any(needle in lowered for needle in needles):
            return words
    return type(exc).__name__


def check(upstream: Upstream, breakers: Breakers | None, timeout_s: float) -> Check:
    """Probe one upstream (only if configured) and read its breaker."""
    breaker = _breaker_state(upstream, breakers)
    if not upstream.configured:
        return Check(upstream.name, upstream.used_by, False, None, None, breaker, "no key: answers 'not configured'")
    started = time.perf_counter()
    try:
        upstream.probe(timeout_s)
    except Exception as exc:
        detail = f"{cause(exc)} ({upstream.note})"  # the address, never a key: notes carry no credentials
        return Check(upstream.name, upstream.used_by, True, False, None, breaker, detail)
    latency = (time.perf_counter() - started) * 1000
    return Check(upstream.name, upstream.used_by, True, True, round(latency, 1), breaker, upstream.note)


def run_checks(settings: Settings, timeout_s: float = 3.0) -> list[Check]:
    """Check every upstream; breakers are read from Redis (shared by all workers) when it answers."""
    breakers: Breakers | None
    try:
        client = redis.Redis.from_url(settings.stream_redis_url, socket_timeout=timeout_s)
        client.ping()
        breakers = Breakers(redis_client=client, namespace=settings.stream_prefix)
    except redis.RedisError:
        breakers = None
    return [check(upstream, breakers, timeout_s) for upstream in upstreams(settings)]


def healthy(checks: list[Check]) -> bool:
    """Every configured upstream reachable and no breaker open."""
    return all(c.reachable is not False and c.breaker != "open" for c in checks)
