"""The gateway's ASGI app (Starlette): enqueue, stream, snapshot, cancel, health, metrics, the chat page."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import anyio.to_thread
import redis
import redis.asyncio as aredis
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from eco2.adapters.redis_streams.events import RedisStreamsEvents
from eco2.dispatch.producer import ChatProducer
from eco2.domain.events import StreamKeys
from eco2.domain.request import ChatRequest, parse_request, valid_job_id
from eco2.errors import ContractError
from eco2.gateway import streams
from eco2.gateway.access import ApiKeys, RateLimiter
from eco2.gateway.hub import StreamHub
from eco2.gateway.metrics import GatewayMetrics
from eco2.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

GATEWAY_FIELDS = frozenset(
    {"message", "session_id", "user_id", "user_location", "image_url", "metadata", "multitask_strategy"}
)
"""What a client may send to ``POST /v1/chats``; the gateway adds ``job_id`` and ``session_seq``."""
SEND_TIMEOUT_S = 30.0
"""How long one SSE write may wait for a client that stopped reading before the connection is dropped."""
HUB_BLOCK_MS = 5000
"""How long the hub's read blocks when every stream is idle."""
SESSION_SEQ_TTL_S = 86400
"""A session's message counter lives as long as the worker's session queue keys (a day idle)."""

Handler = Callable[[Request], Awaitable[Response]]


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The gateway's error body: the contract's ``{code, message}``."""
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


class Gateway:
    """The gateway's state (Redis, the broker producer, access control, metrics) and its handlers."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        core = settings.core
        self.prefix = core.stream_prefix
        # A burst of requests waits for one of 64 connections instead of failing (redis-py's default pool
        # raises "Too many connections" past 100).
        pool = aredis.BlockingConnectionPool.from_url(core.stream_redis_url, max_connections=64, timeout=20)
        self.redis: aredis.Redis = aredis.Redis(connection_pool=pool)
        # Its own connection: the hub's blocking read must not wait for (or hold) one of the pool's, and its
        # socket must outwait the read's block.
        hub_client = aredis.Redis.from_url(core.stream_redis_url, socket_timeout=HUB_BLOCK_MS / 1000 + 10)
        self.hub = StreamHub(hub_client, block_ms=HUB_BLOCK_MS)
        self.producer = ChatProducer(core.broker_url, core.broker_is_redis)
        self.keys = ApiKeys(settings.api_keys)
        self.limiter = RateLimiter(settings.rate_per_minute)
        self.metrics = GatewayMetrics()
        # The worker's own writer (sync, in a thread): a cancel's terminal event and an accepted job's
        # snapshot follow the stream's rules.
        self.events = RedisStreamsEvents(
            redis.Redis.from_url(core.stream_redis_url),
            prefix=self.prefix,
            ttl_s=core.stream_ttl_s,
            running_ttl_s=core.running_ttl_s,
        )

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Close the Redis pool and the broker connections on shutdown."""
        try:
            yield
        finally:
            await self.hub.close()
            await self.redis.aclose()
            self.events.client.close()
            self.producer.close()

    # -- access ------------------------------------------------------------------------------------
    def guarded(self, route: str, handler: Handler) -> Handler:
        """``handler`` behind the API key check and the rate limit, counted by route template."""

        async def guard(request: Request) -> Response:
            response = await self._admit(request)
            if response is None:
                try:
                    response = await handler(request)
                except Exception:
                    log.exception("gateway: %s %s failed", request.method, route)
                    response = error(500, "internal_error", "the gateway failed; see its log")
            self.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
            return response

        return guard

    async def _admit(self, request: Request) -> Response | None:
        caller: str | None
        if self.keys.required:
            caller = self.keys.caller(_presented_key(request))
            if caller is None:
                self.metrics.limited.labels("unauthorized").inc()
                return error(401, "unauthorized", "a valid API key is required", {"WWW-Authenticate": "Bearer"})
        else:
            caller = request.client.host if request.client else "unknown"
        wait = self.limiter.take(caller)
        if wait:
            self.metrics.limited.labels("rate_limited").inc()
            return error(429, "rate_limited", "too many requests", {"Retry-After": str(max(1, round(wait)))})
        return None

    # -- handlers ----------------------------------------------------------------------------------
    async def create_chat(self, request: Request) -> Response:
        """``POST /v1/chats``: validate as the task contract does, enqueue by name, answer 202."""
        body = await _read_body(request, self.settings.max_body_bytes)
        if isinstance(body, Response):
            return body
        job_id = f"gw-{uuid.uuid4().hex}"
        try:
            request_, kwargs = chat_kwargs(body, job_id)
        except ContractError as exc:
            return error(400, exc.code, exc.message)
        if request_.session_id is not None:
            kwargs["session_seq"] = await self._next_seq(request_.session_id)
        # A queued snapshot first, so the stream URL answers before a worker has taken the job.
        await anyio.to_thread.run_sync(self.events.mark_queued, job_id)
        try:
            await anyio.to_thread.run_sync(self._send, kwargs)
        except Exception as exc:
            log.warning("gateway: enqueueing job %s failed: %s", job_id, type(exc).__name__)
            await self.redis.delete(StreamKeys.for_job(self.prefix, job_id).snapshot)
            return error(503, "broker_unavailable", "the chat could not be enqueued; try again")
        base = f"/v1/chats/{job_id}"
        return JSONResponse(
            {"job_id": job_id, "session_id": request_.session_id, "events_url": f"{base}/events", "url": base},
            status_code=202,
            headers={"Location": base},
        )

    async def chat_events(self, request: Request) -> Response:
        """``GET /v1/chats/{job_id}/events``: Server-Sent Events from ``Last-Event-ID`` or ``?after=``."""
        keys = await self._known(request)
        if isinstance(keys, Response):
            return keys
        after = request.headers.get("last-event-id") or request.query_params.get("after") or "0-0"
        if not streams.valid_stream_id(after):
            return error(400, "invalid_after", "Last-Event-ID / after must be a stream ID such as 1700000000000-0")
        source = streams.events(self.redis, self.hub, keys, after, self.settings.heartbeat_s)
        # The heartbeats are the stream's own (counted in /metrics); sse-starlette's pings are turned
        # off (0). A client that stops reading for SEND_TIMEOUT_S is dropped, freeing its task and queue.
        return EventSourceResponse(
            self._counted(source), ping=0, send_timeout=SEND_TIMEOUT_S, headers={"X-Accel-Buffering": "no"}
        )

    async def chat_snapshot(self, request: Request) -> Response:
        """``GET /v1/chats/{job_id}``: the snapshot a late reader starts from."""
        keys = await self._known(request)
        if isinstance(keys, Response):
            return keys
        raw = {_text(k): _text(v) for k, v in (await self.redis.hgetall(keys.snapshot)).items()}
        return JSONResponse(
            {
                "job_id": request.path_params["job_id"],
                "status": raw.get("status", "running"),
                "intent": raw.get("intent", ""),
                "answer": raw.get("answer", ""),
                "last_seq": int(raw.get("last_seq", "0")),
                "updated_ms": int(raw.get("updated_ms", "0")),
            }
        )

    async def cancel_chat(self, request: Request) -> Response:
        """``POST /v1/chats/{job_id}/cancel``: end the job with an ``error`` of code ``cancelled``."""
        keys = await self._known(request)
        if isinstance(keys, Response):
            return keys
        job_id = request.path_params["job_id"]
        outcome = await anyio.to_thread.run_sync(self.events.cancel, job_id)
        return JSONResponse({"job_id": job_id, "cancelled": outcome == "cancelled", "outcome": outcome})

    async def healthz(self, _request: Request) -> Response:
        """The process is up."""
        return JSONResponse({"status": "ok"})

    async def readyz(self, _request: Request) -> Response:
        """Ready when Redis answers."""
        try:
            await self.redis.ping()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "redis": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(self, _request: Request) -> Response:
        """Prometheus text format."""
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def page(self, _request: Request) -> Response:
        """The chat page (plain HTML and JS)."""
        html = resources.files("eco2.gateway").joinpath("static/index.html").read_text("utf-8")
        return HTMLResponse(html)

    # -- helpers -----------------------------------------------------------------------------------
    async def _known(self, request: Request) -> StreamKeys | Response:
        job_id = valid_job_id(request.path_params["job_id"])
        if job_id is None:
            return error(404, "unknown_job", "no such job")
        keys = StreamKeys.for_job(self.prefix, job_id)
        if not await streams.job_exists(self.redis, keys):
            return error(404, "unknown_job", "no such job (or it expired)")
        return keys

    async def _counted(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        self.metrics.sse_open.inc()
        try:
            async for chunk in source:
                self.metrics.sse_bytes.inc(len(chunk))
                yield chunk
        finally:
            self.metrics.sse_open.dec()

    async def _next_seq(self, session_id: str) -> int:
        key = f"{self.prefix}:gateway:session:{session_id}:seq"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, SESSION_SEQ_TTL_S)
            seq, _ = await pipe.execute()
        return int(seq)

    def _send(self, kwargs: dict[str, Any]) -> None:
        self.producer.send(kwargs)


def chat_kwargs(body: bytes, job_id: str) -> tuple[ChatRequest, dict[str, Any]]:
    """The request a ``POST /v1/chats`` body asks for and its task kwargs; raises ``ContractError`` with the
    contract's code (plus ``invalid_json``) when it is bad."""
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        fields = None
    if not isinstance(fields, dict):
        raise ContractError("invalid_json", "the body must be a JSON object")
    unknown = sorted(ascii(k)[:64] for k in fields if k not in GATEWAY_FIELDS)
    if unknown:
        raise ContractError("unknown_field", f"unknown field(s): {', '.join(unknown)[:200]}")
    kwargs: dict[str, Any] = {"job_id": job_id, **fields}
    return parse_request((), kwargs), kwargs


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def _read_body(request: Request, limit: int) -> bytes | Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return error(413, "body_too_large", f"the body may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return error(413, "body_too_large", f"the body may be at most {limit} bytes")
    return bytes(body)


def create_app(settings: GatewaySettings | None = None) -> Starlette:
    """The ASGI app; ``settings`` default to the environment."""
    gateway = Gateway(settings or GatewaySettings.from_env())
    g = gateway.guarded
    routes = [
        Route("/", gateway.page, methods=["GET"]),
        Route("/healthz", gateway.healthz, methods=["GET"]),
        Route("/readyz", gateway.readyz, methods=["GET"]),
        Route("/metrics", gateway.metrics_endpoint, methods=["GET"]),
        Route("/v1/chats", g("/v1/chats", gateway.create_chat), methods=["POST"]),
        Route("/v1/chats/{job_id}", g("/v1/chats/{job_id}", gateway.chat_snapshot), methods=["GET"]),
        Route("/v1/chats/{job_id}/events", g("/v1/chats/{job_id}/events", gateway.chat_events), methods=["GET"]),
        Route("/v1/chats/{job_id}/cancel", g("/v1/chats/{job_id}/cancel", gateway.cancel_chat), methods=["POST"]),
    ]
    middleware = []
    if gateway.settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(gateway.settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-API-Key"],
                max_age=600,
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=gateway.lifespan)
    app.state.gateway = gateway
    return app
