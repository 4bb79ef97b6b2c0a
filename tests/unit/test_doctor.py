"""``eco2 doctor``: configured vs not, reachable vs not, latency, breaker state, no secrets printed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import redis

from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.doctor import check, healthy, run_checks, upstreams
from eco2.errors import RetryableError
from eco2.localrun import free_port

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
KEY = "doctor-secret-key-123"


class _Any404(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Any404.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Any404)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Any404.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def env(redis_url: str, reachable: str, **extra: str) -> dict[str, str]:
    return {
        "ECO2_REDIS_URL": redis_url,
        "KAKAO_REST_API_KEY": KEY,
        "ECO2_KAKAO_BASE_URL": reachable,
        "DATA_GO_KR_SERVICE_KEY": KEY,
        "ECO2_KMA_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "ECO2_MOIS_BASE_URL": reachable + "/mois",
        "ECO2_CHARACTER_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        **extra,
    }


def test_configured_upstreams_are_probed_and_unconfigured_ones_are_not(redis_url: str, http_server: str) -> None:
    checks = {c.name: c for c in run_checks(Settings.from_env(env(redis_url, http_server)), timeout_s=1)}
    assert checks["redis"].reachable is True
    assert checks["kakao"].configured
    assert checks["kakao"].reachable is True
    assert checks["kakao"].latency_ms is not None
    assert checks["mois"].reachable is True
    assert checks["kma"].configured
    assert checks["kma"].reachable is False
    assert checks["character"].reachable is False
    assert not checks["openai"].configured
    assert checks["openai"].reachable is None
    assert checks["odcloud"].configured  # the data.go.kr key is its fallback
    assert sorted(_Any404.hits) == ["/", "/mois"]
    assert not healthy(list(checks.values()))


def test_a_rabbitmq_broker_gets_its_own_row_and_a_dead_one_fails(
    redis_url: str, http_server: str, request: pytest.FixtureRequest
) -> None:
    checks = {c.name: c for c in run_checks(Settings.from_env(env(redis_url, http_server)), timeout_s=1)}
    assert not checks["rabbitmq"].configured  # the Redis broker: no AMQP row to probe
    amqp = request.getfixturevalue("rabbitmq").url
    settings = Settings.from_env(env(redis_url, http_server, ECO2_BROKER_URL=amqp))
    checks = {c.name: c for c in run_checks(settings, timeout_s=10)}  # a busy CI machine: room to connect
    assert checks["rabbitmq"].configured
    assert checks["rabbitmq"].reachable is True
    assert checks["redis"].reachable is True
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    checks = {c.name: c for c in run_checks(Settings.from_env(env(redis_url, http_server, ECO2_BROKER_URL=dead)), 1)}
    assert checks["rabbitmq"].reachable is False


def test_an_open_breaker_is_shown_and_fails_the_check(redis_url: str, http_server: str) -> None:
    breakers = Breakers(redis_client=redis.Redis.from_url(redis_url), fail_max=1, namespace="eco2")

    def boom() -> None:
        raise RetryableError("down")

    with pytest.raises(Exception):  # noqa: B017, PT011 - the trip raises the breaker's own error
        breakers.call("kakao", boom)
    checks = {c.name: c for c in run_checks(Settings.from_env(env(redis_url, http_server)), timeout_s=1)}
    assert checks["kakao"].breaker == "open"
    assert checks["mois"].breaker == "closed"


def test_the_command_prints_a_table_and_never_the_keys(redis_url: str, http_server: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eco2.cli.main", "doctor", "--json", "--timeout", "1"],
        capture_output=True,
        text=True,
        env={**env(redis_url, http_server), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1  # kma and the character service are down
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {row["name"] for row in rows} >= {"redis", "openai", "kakao", "kma", "mois", "odcloud", "character"}
    assert KEY not in result.stdout + result.stderr


def test_a_failed_probe_says_why_in_words_and_where(redis_url: str, http_server: str) -> None:
    settings = Settings.from_env(env(redis_url, http_server))
    checks = {c.name: c for c in run_checks(settings, timeout_s=1)}
    assert checks["kma"].detail == f"connection refused ({settings.kma_base_url})"
    assert checks["character"].detail == f"connection refused ({settings.character_grpc_addr})"  # not a gRPC class


def test_without_a_character_address_the_embedded_service_is_started_and_asked() -> None:
    (row,) = [u for u in upstreams(Settings()) if u.name == "character"]
    result = check(row, None, timeout_s=2)
    assert (result.configured, result.reachable) == (True, True)
    assert result.detail == "embedded: each worker process serves it on loopback"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (TimeoutError("timed out"), "timed out"),
        (OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS failed"),
        (RuntimeError("401 Client Error: Unauthorized for url"), "unauthorised"),
        (OSError("[Errno -2] Name or service not known"), "host not found"),
        (ValueError("something else"), "ValueError"),
    ],
)
def test_causes_are_named_in_words(exc: BaseException, words: str) -> None:
    from eco2.doctor import cause

    assert cause(exc) == words
    wrapped = RuntimeError("probe failed")
    wrapped.__cause__ = exc
    assert cause(wrapped) == (words if words != "ValueError" else "RuntimeError")
