"""Settings: the only place that reads the environment.

Everything else receives a :class:`Settings` (or a piece of it) from the composition root, so tests build
settings from a plain dict and nothing reads ``os.environ`` behind anyone's back. Secrets are wrapped in
:class:`Secret`, whose ``repr`` is masked, so a settings object can be logged or traced without leaking.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eco2.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential; ``str()`` and ``repr()`` never show it, only :meth:`reveal` does."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The raw value, for the one adapter that sends it upstream."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def _secret(env: Mapping[str, str], *names: str) -> Secret | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return Secret(value)
    return None


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """``env[name]`` as an integer >= ``minimum``, ``default`` when unset; ``ConfigError`` naming it if not."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """``env[name]`` as a positive number, ``default`` when unset; ``ConfigError`` naming it if not."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _first(env: Mapping[str, str], *names: str) -> str:
    """The first of ``names`` that is set (LangSmith's ``LANGSMITH_*`` names win over ``LANGCHAIN_*``)."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _first_bool(env: Mapping[str, str], names: tuple[str, ...], default: bool) -> bool:
    for name in names:
        if env.get(name, "").strip():
            return _bool(env, name, default)
    return default


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: set[str]) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
    return raw


REDIS_BROKER_SCHEMES = ("redis://", "rediss://", "sentinel://")
AMQP_BROKER_SCHEMES = ("amqp://", "amqps://", "pyamqp://")
"""Brokers eco2 is tested on: Redis (the default, one server for everything) and RabbitMQ (docs/deploy.md)."""


AMQP_TRANSPORT_OPTIONS = {"confirm_publish": True}
"""Every publish to an AMQP broker waits for the broker's confirmation (workers and the gateway alike)."""


def _broker_url(env: Mapping[str, str], redis_url: str) -> str:
    raw = env.get("ECO2_BROKER_URL", "").strip() or redis_url
    if not raw.startswith(REDIS_BROKER_SCHEMES + AMQP_BROKER_SCHEMES):
        scheme = raw.split(":", 1)[0][:20]  # never echo more: the rest may hold a password
        raise ConfigError(f"ECO2_BROKER_URL must be a redis:// or amqp:// URL, got scheme {scheme!r}")
    return raw


def _metrics_dir(env: Mapping[str, str]) -> Path | None:
    raw = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip() or env.get("ECO2_METRICS_DIR", "").strip()
    return Path(raw) if raw else None


def _default_state_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "eco2"


WORKER_POOLS = {"threads", "prefork", "solo"}
"""Celery pools ``ECO2_WORKER_POOL`` may name: the ones eco2 is tested on (``-P`` may still name any)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """All runtime settings of eco2, with their defaults. See docs/configuration.md for each variable."""

    redis_url: str = "redis://localhost:6379/0"
    """``ECO2_REDIS_URL``: one Redis for broker, results and event streams unless overridden below."""
    broker_url: str = ""
    """``ECO2_BROKER_URL``: Celery broker; defaults to ``redis_url``."""
    result_backend: str = ""
    """``ECO2_RESULT_BACKEND``: Celery result backend (chords need one); defaults to ``redis_url``."""
    stream_redis_url: str = ""
    """``ECO2_STREAM_REDIS_URL``: Redis holding event streams, snapshots and session queues."""
    stream_prefix: str = "eco2"
    """``ECO2_STREAM_PREFIX``: key prefix of ``{prefix}:chat:{job_id}:events`` and friends."""
    stream_ttl_s: int = 3600
    """``ECO2_STREAM_TTL_S``: how long a finished job's stream and snapshot stay readable."""
    token_flush_ms: int = 20
    """``ECO2_TOKEN_FLUSH_MS``: token coalescing window; 0 writes every token at once."""
    job_timeout_s: int = 120
    """``ECO2_JOB_TIMEOUT_S``: a job that has not ended after this gets an ``error`` event (timeout)."""
    answer_timeout_s: int = 60
    """``ECO2_ANSWER_TIMEOUT_S``: soft time limit of one orchestration step (intent, aggregate, answer)."""
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "eco2")
    """``ECO2_STATE_DIR``: where the embedded SQLite checkpointer lives."""
    checkpoint_url: str = ""
    """``ECO2_CHECKPOINT_URL``: ``sqlite:///path`` (default, under ``state_dir``) or ``postgresql://...``."""
    history_turns: int = 6
    """``ECO2_HISTORY_TURNS``: turns kept verbatim per session; older ones are folded into a summary."""
    summary_max_chars: int = 1200
    """``ECO2_SUMMARY_MAX_CHARS``: bound on the rolling summary of older turns."""
    llm_provider: str = "auto"
    """``ECO2_LLM_PROVIDER``: ``auto`` (OpenAI when a key exists), ``openai`` or ``offline``."""
    openai_api_key: Secret | None = None
    """``OPENAI_API_KEY``."""
    openai_base_url: str | None = None
    """``OPENAI_BASE_URL``: any OpenAI-compatible server."""
    openai_model: str = "gpt-5.4-mini"
    """``ECO2_OPENAI_MODEL``: the model that writes answers."""
    openai_intent_model: str = ""
    """``ECO2_OPENAI_INTENT_MODEL``: the model that classifies intents; defaults to ``openai_model``."""
    openai_timeout_s: float = 30.0
    """``ECO2_OPENAI_TIMEOUT_S``: per-request timeout of the OpenAI client."""
    openai_intent_timeout_s: float = 8.0
    """``ECO2_OPENAI_INTENT_TIMEOUT_S``: the intent call's one attempt (the offline classifier takes over after it)."""
    kakao_api_key: Secret | None = None
    """``KAKAO_REST_API_KEY``: Kakao Local (places, geocoding)."""
    kakao_base_url: str = "https://dapi.kakao.com"
    """``ECO2_KAKAO_BASE_URL``."""
    data_go_kr_key: Secret | None = None
    """``DATA_GO_KR_SERVICE_KEY``: the public data portal key (KMA weather, MOIS household waste)."""
    kma_base_url: str = "https://apis.data.go.kr/1360000/VilageFcstInfoService_2.0"
    """``ECO2_KMA_BASE_URL``."""
    mois_base_url: str = "https://apis.data.go.kr/1741000/household_waste_info"
    """``ECO2_MOIS_BASE_URL``."""
    keco_api_key: Secret | None = None
    """``KECO_API_KEY``: odcloud key for KECO's collection-point dataset (falls back to the data.go.kr key)."""
    odcloud_base_url: str = "https://api.odcloud.kr/api"
    """``ECO2_ODCLOUD_BASE_URL``."""
    character_grpc_addr: str = ""
    """``ECO2_CHARACTER_GRPC_ADDR``: the character service (``eco2 character-server``) at ``host:port``. Unset:
    each worker process serves the bundled catalogue itself on a loopback port (the embedded service)."""
    character_grpc_tls: bool = False
    """``ECO2_CHARACTER_GRPC_TLS``: connect with TLS (to a set address; the embedded service is loopback)."""
    character_grpc_ca: Path | None = None
    """``ECO2_CHARACTER_GRPC_CA``: CA bundle for the character service's certificate."""
    web_search: str = "auto"
    """``ECO2_WEB_SEARCH``: ``auto`` (OpenAI when a key exists, else off), ``openai``, ``ddgs``, ``off``."""
    openai_vision_model: str = "gpt-5.4-mini"
    """``ECO2_OPENAI_VISION_MODEL``: names the item in a photo."""
    openai_image_model: str = "gpt-image-2.5-flare"
    """``ECO2_OPENAI_IMAGE_MODEL``: image generation."""
    upstream_timeout_s: float = 5.0
    """``ECO2_UPSTREAM_TIMEOUT_S``: per-request timeout of the HTTP upstreams (under each subagent's limit)."""
    breaker_fail_max: int = 5
    """``ECO2_BREAKER_FAIL_MAX``: retryable failures in a row that open an upstream's breaker."""
    breaker_reset_s: float = 30.0
    """``ECO2_BREAKER_RESET_S``: how long a breaker stays open before a trial call."""
    worker_max_memory_mb: int = 1024
    """``ECO2_WORKER_MAX_MEMORY_MB``: a prefork pool process grown past this is replaced after its task (0: never)."""
    session_ttl_s: float = 86400.0
    """``ECO2_SESSION_TTL_S``: a session idle this long loses its conversation (its checkpoint thread)."""
    worker_pool: str = "threads"
    """``ECO2_WORKER_POOL``: Celery's pool when ``-P`` is not given (``threads``, ``prefork`` or ``solo``)."""
    worker_concurrency: int = 200
    """``ECO2_WORKER_CONCURRENCY``: slots per worker process when ``-c`` is not given (threads: tasks at once)."""
    worker_processes: int = 0
    """``ECO2_WORKER_PROCESSES``: worker processes ``eco2 worker`` starts (0: one per core for a threads pool)."""
    heartbeat_file: Path | None = None
    """``ECO2_HEARTBEAT_FILE``: touched on every worker heartbeat (every 2 s while connected), for probes."""
    env_name: str = "development"
    """``ECO2_ENV``: deployment stage, used as the ``env:{x}`` trace tag."""
    metrics_enabled: bool = True
    """``ECO2_METRICS_ENABLED``: Prometheus metrics (``false`` uses the NoOp adapter)."""
    metrics_dir: Path | None = None
    """``PROMETHEUS_MULTIPROC_DIR`` (or ``ECO2_METRICS_DIR``): the host's shared multiprocess registry."""
    metrics_port: int = 9191
    """``ECO2_METRICS_PORT``: the host's exposition endpoint (0 disables it)."""
    metrics_addr: str = "127.0.0.1"
    """``ECO2_METRICS_ADDR``: loopback by default, like Flower and the gateway (nothing is exposed unless
    asked); the chart sets ``0.0.0.0`` so Prometheus can scrape the pod (its NetworkPolicy keeps it
    internal)."""
    """``ECO2_METRICS_ADDR``: address the exposition endpoint binds."""
    pushgateway_url: str | None = None
    """``ECO2_PUSHGATEWAY_URL``: push the host's aggregated registry there (off when unset)."""
    push_interval_s: float = 15.0
    """``ECO2_PUSH_INTERVAL_S``: how often to push."""
    metrics_janitor_s: float = 10.0
    """``ECO2_METRICS_JANITOR_S``: how often dead pool processes' metrics files are folded."""
    rag_weak_threshold: float | None = None
    """``ECO2_RAG_WEAK_THRESHOLD``: override of the retriever's weak-result threshold."""
    langsmith_tracing: bool = False
    """``LANGSMITH_TRACING`` (or ``LANGCHAIN_TRACING_V2``): send runs to LangSmith (needs an API key)."""
    langsmith_api_key: Secret | None = None
    """``LANGSMITH_API_KEY`` (or ``LANGCHAIN_API_KEY``)."""
    langsmith_project: str = "eco2-chat-worker"
    """``LANGSMITH_PROJECT`` (or ``LANGCHAIN_PROJECT``): the project that receives the runs."""
    langsmith_endpoint: str | None = None
    """``LANGSMITH_ENDPOINT`` (or ``LANGCHAIN_ENDPOINT``): a self-hosted LangSmith; the SaaS one when unset."""
    otel_enabled: bool = False
    """``LANGSMITH_OTEL_ENABLED``: OpenTelemetry spans over OTLP for the whole chat (see docs/tracing.md)."""
    otlp_endpoint: str | None = None
    """``OTEL_EXPORTER_OTLP_ENDPOINT``: base URL of the OTLP/HTTP receiver (``/v1/traces`` is appended)."""
    otel_service_name: str = "eco2-chat-worker"
    """``OTEL_SERVICE_NAME``: the ``service.name`` of the worker's spans."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` unless a mapping is given)."""
        env = os.environ if environ is None else environ
        d = cls()
        redis_url = env.get("ECO2_REDIS_URL", "").strip() or d.redis_url
        state_dir = Path(env.get("ECO2_STATE_DIR", "").strip() or _default_state_dir(env))
        provider = env.get("ECO2_LLM_PROVIDER", "auto").strip().lower() or "auto"
        if provider not in {"auto", "openai", "offline"}:
            raise ConfigError(f"ECO2_LLM_PROVIDER must be auto, openai or offline, got {provider!r}")
        openai_key = _secret(env, "OPENAI_API_KEY")
        if provider == "openai" and openai_key is None:
            raise ConfigError("ECO2_LLM_PROVIDER=openai needs OPENAI_API_KEY")
        prefix = env.get("ECO2_STREAM_PREFIX", "").strip() or d.stream_prefix
        if ":" in prefix or " " in prefix:
            raise ConfigError(f"ECO2_STREAM_PREFIX must not contain ':' or spaces, got {prefix!r}")
        weak = env.get("ECO2_RAG_WEAK_THRESHOLD", "").strip()
        model = env.get("ECO2_OPENAI_MODEL", "").strip() or d.openai_model
        return cls(
            redis_url=redis_url,
            broker_url=_broker_url(env, redis_url),
            result_backend=env.get("ECO2_RESULT_BACKEND", "").strip() or redis_url,
            stream_redis_url=env.get("ECO2_STREAM_REDIS_URL", "").strip() or redis_url,
            stream_prefix=prefix,
            stream_ttl_s=env_int(env, "ECO2_STREAM_TTL_S", d.stream_ttl_s, minimum=1),
            token_flush_ms=env_int(env, "ECO2_TOKEN_FLUSH_MS", d.token_flush_ms),
            job_timeout_s=env_int(env, "ECO2_JOB_TIMEOUT_S", d.job_timeout_s, minimum=5),
            answer_timeout_s=env_int(env, "ECO2_ANSWER_TIMEOUT_S", d.answer_timeout_s, minimum=1),
            state_dir=state_dir,
            checkpoint_url=env.get("ECO2_CHECKPOINT_URL", "").strip()
            or f"sqlite:///{state_dir / 'checkpoints.sqlite'}",
            history_turns=env_int(env, "ECO2_HISTORY_TURNS", d.history_turns, minimum=1),
            summary_max_chars=env_int(env, "ECO2_SUMMARY_MAX_CHARS", d.summary_max_chars, minimum=100),
            llm_provider=provider,
            openai_api_key=openai_key,
            openai_base_url=env.get("OPENAI_BASE_URL", "").strip() or None,
            openai_model=model,
            openai_intent_model=env.get("ECO2_OPENAI_INTENT_MODEL", "").strip() or model,
            openai_timeout_s=env_float(env, "ECO2_OPENAI_TIMEOUT_S", d.openai_timeout_s),
            openai_intent_timeout_s=env_float(env, "ECO2_OPENAI_INTENT_TIMEOUT_S", d.openai_intent_timeout_s),
            kakao_api_key=_secret(env, "KAKAO_REST_API_KEY"),
            kakao_base_url=_url(env, "ECO2_KAKAO_BASE_URL", d.kakao_base_url),
            data_go_kr_key=_secret(env, "DATA_GO_KR_SERVICE_KEY"),
            kma_base_url=_url(env, "ECO2_KMA_BASE_URL", d.kma_base_url),
            mois_base_url=_url(env, "ECO2_MOIS_BASE_URL", d.mois_base_url),
            keco_api_key=_secret(env, "KECO_API_KEY"),
            odcloud_base_url=_url(env, "ECO2_ODCLOUD_BASE_URL", d.odcloud_base_url),
            character_grpc_addr=env.get("ECO2_CHARACTER_GRPC_ADDR", "").strip(),
            character_grpc_tls=_bool(env, "ECO2_CHARACTER_GRPC_TLS", False),
            character_grpc_ca=Path(ca) if (ca := env.get("ECO2_CHARACTER_GRPC_CA", "").strip()) else None,
            web_search=_choice(env, "ECO2_WEB_SEARCH", d.web_search, {"auto", "openai", "ddgs", "off"}),
            openai_vision_model=env.get("ECO2_OPENAI_VISION_MODEL", "").strip() or d.openai_vision_model,
            openai_image_model=env.get("ECO2_OPENAI_IMAGE_MODEL", "").strip() or d.openai_image_model,
            upstream_timeout_s=env_float(env, "ECO2_UPSTREAM_TIMEOUT_S", d.upstream_timeout_s),
            worker_max_memory_mb=env_int(env, "ECO2_WORKER_MAX_MEMORY_MB", d.worker_max_memory_mb),
            worker_pool=_choice(env, "ECO2_WORKER_POOL", d.worker_pool, WORKER_POOLS),
            session_ttl_s=env_float(env, "ECO2_SESSION_TTL_S", d.session_ttl_s),
            worker_concurrency=env_int(env, "ECO2_WORKER_CONCURRENCY", d.worker_concurrency, minimum=1),
            worker_processes=env_int(env, "ECO2_WORKER_PROCESSES", d.worker_processes),
            heartbeat_file=Path(hb) if (hb := env.get("ECO2_HEARTBEAT_FILE", "").strip()) else None,
            breaker_fail_max=env_int(env, "ECO2_BREAKER_FAIL_MAX", d.breaker_fail_max, minimum=1),
            breaker_reset_s=env_float(env, "ECO2_BREAKER_RESET_S", d.breaker_reset_s),
            env_name=env.get("ECO2_ENV", "").strip() or d.env_name,
            rag_weak_threshold=float(weak) if weak else None,
            metrics_enabled=_bool(env, "ECO2_METRICS_ENABLED", True),
            metrics_dir=_metrics_dir(env),
            metrics_port=env_int(env, "ECO2_METRICS_PORT", d.metrics_port),
            metrics_addr=env.get("ECO2_METRICS_ADDR", "").strip() or d.metrics_addr,
            pushgateway_url=env.get("ECO2_PUSHGATEWAY_URL", "").strip() or None,
            push_interval_s=env_float(env, "ECO2_PUSH_INTERVAL_S", d.push_interval_s),
            metrics_janitor_s=env_float(env, "ECO2_METRICS_JANITOR_S", d.metrics_janitor_s),
            langsmith_tracing=_first_bool(env, ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"), False),
            langsmith_api_key=_secret(env, "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"),
            langsmith_project=_first(env, "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT") or d.langsmith_project,
            langsmith_endpoint=_first(env, "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT") or None,
            otel_enabled=_bool(env, "LANGSMITH_OTEL_ENABLED", False),
            otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None,
            otel_service_name=env.get("OTEL_SERVICE_NAME", "").strip() or d.otel_service_name,
        )

    @property
    def running_ttl_s(self) -> int:
        """How long a job's snapshot lives while the job has not ended (a day, or ten job timeouts)."""
        return max(86400, self.job_timeout_s * 10)

    @property
    def broker_is_redis(self) -> bool:
        """Whether Celery's broker is Redis (kombu's visibility timeout applies) rather than AMQP."""
        return self.broker_url.startswith(REDIS_BROKER_SCHEMES)

    @property
    def use_openai(self) -> bool:
        """Whether the OpenAI adapters are chosen (a key exists and the provider is not forced offline)."""
        return self.openai_api_key is not None and self.llm_provider != "offline"
