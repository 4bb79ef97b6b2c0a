"""Gateway settings: the worker's environment (Redis, broker, prefix) plus the gateway's own variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from eco2.config import Settings, env_float, env_int
from eco2.errors import ConfigError


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """See docs/gateway.md for each variable."""

    core: Settings
    """Redis, broker and stream prefix: the same variables the worker reads."""
    api_keys: tuple[str, ...] = ()
    """``ECO2_GATEWAY_API_KEYS`` (comma-separated): when set, every ``/v1`` request needs one of them."""
    cors_origins: tuple[str, ...] = ()
    """``ECO2_GATEWAY_CORS_ORIGINS`` (comma-separated origins, or ``*``): browsers of other origins."""
    max_body_bytes: int = 16_384
    """``ECO2_GATEWAY_MAX_BODY_BYTES``: a larger request body is refused with 413."""
    rate_per_minute: float = 120.0
    """``ECO2_GATEWAY_RATE_PER_MIN``: ``/v1`` requests per minute per API key (per client address without
    keys); bursts up to the same number."""
    heartbeat_s: float = 15.0
    """``ECO2_GATEWAY_HEARTBEAT_S``: an SSE comment this often while a stream is idle (proxies keep it)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """Read ``os.environ`` (or ``environ``)."""
        env = os.environ if environ is None else environ
        d = cls(core=Settings())
        keys = tuple(k.strip() for k in env.get("ECO2_GATEWAY_API_KEYS", "").split(",") if k.strip())
        if any(len(k) < 16 for k in keys):
            raise ConfigError("ECO2_GATEWAY_API_KEYS: every key must be at least 16 characters")
        origins = tuple(o.strip().rstrip("/") for o in env.get("ECO2_GATEWAY_CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            core=Settings.from_env(env),
            api_keys=keys,
            cors_origins=origins,
            max_body_bytes=env_int(env, "ECO2_GATEWAY_MAX_BODY_BYTES", d.max_body_bytes, minimum=1),
            rate_per_minute=env_float(env, "ECO2_GATEWAY_RATE_PER_MIN", d.rate_per_minute),
            heartbeat_s=env_float(env, "ECO2_GATEWAY_HEARTBEAT_S", d.heartbeat_s),
        )
