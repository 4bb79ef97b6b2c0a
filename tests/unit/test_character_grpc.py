"""The character service over real gRPC on loopback: server, health, TLS, client retries and the breaker.

No fakes of gRPC itself: every test starts ``eco2.subagents.character.server`` on a free port. Test
servicers (slow, flaky, counting, malformed) subclass the real one, so the wire, the status codes and the
deadlines are gRPC's own.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.errors import ConfigError, PermanentError, RetryableError
from eco2.rag.corpus import load_corpus
from eco2.subagents.character.catalogue import CatalogueError, load_catalogue, parse_catalogue
from eco2.subagents.character.client import CharacterClient
from eco2.subagents.character.proto.character.v1 import character_pb2 as pb
from eco2.subagents.character.proto.character.v1 import character_pb2_grpc as pb_grpc
from eco2.subagents.character.server import SERVICE_NAME, CharacterServicer, TlsFiles, start_server

CATALOGUE = load_catalogue()


class Recorder:
    """The client's ``sleep``: records backoffs instead of waiting, so attempts are counted exactly."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class CountingServicer(CharacterServicer):
    """The real servicer, counting calls per method."""

    def __init__(self) -> None:
        super().__init__(CATALOGUE)
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, method: str) -> int:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            return self.calls[method]

    def GetCharacterByMatch(
        self, request: pb.GetCharacterByMatchRequest, context: grpc.ServicerContext
    ) -> pb.GetCharacterByMatchResponse:
        self.count("GetCharacterByMatch")
        return super().GetCharacterByMatch(request, context)

    def GetCharacterReward(
        self, request: pb.GetCharacterRewardRequest, context: grpc.ServicerContext
    ) -> pb.GetCharacterRewardResponse:
        self.count("GetCharacterReward")
        return super().GetCharacterReward(request, context)


class FlakyServicer(CountingServicer):
    """Answers UNAVAILABLE to the first ``failures`` calls, like a server that is restarting."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def GetDefaultCharacter(
        self, request: pb.GetDefaultCharacterRequest, context: grpc.ServicerContext
    ) -> pb.GetDefaultCharacterResponse:
        if self.count("GetDefaultCharacter") <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return super().GetDefaultCharacter(request, context)


class SlowServicer(CountingServicer):
    """Takes ``delay_s`` for GetDefaultCharacter."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def GetDefaultCharacter(
        self, request: pb.GetDefaultCharacterRequest, context: grpc.ServicerContext
    ) -> pb.GetDefaultCharacterResponse:
        self.count("GetDefaultCharacter")
        time.sleep(self.delay_s)
        return super().GetDefaultCharacter(request, context)


class MalformedServicer(CountingServicer):
    """Says found=true but sends no character."""

    def GetCharacterByMatch(
        self, request: pb.GetCharacterByMatchRequest, context: grpc.ServicerContext
    ) -> pb.GetCharacterByMatchResponse:
        return pb.GetCharacterByMatchResponse(found=True, match_label=request.match_label)


def client_for(port: int, breakers: Breakers | None = None, **kwargs: Any) -> tuple[CharacterClient, Recorder]:
    recorder = Recorder()
    options: dict[str, Any] = {"deadline_s": 2.0, "attempts": 3, "sleep": recorder, **kwargs}
    return CharacterClient(f"127.0.0.1:{port}", breakers or Breakers(), **options), recorder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    running = start_server("127.0.0.1:0")
    yield running.port
    running.stop(0)


@pytest.fixture
def counting() -> Iterator[tuple[int, CountingServicer]]:
    servicer = CountingServicer()
    running = start_server("127.0.0.1:0", servicer=servicer)
    yield running.port, servicer
    running.stop(0)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for localhost and 127.0.0.1 (its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eco2 character test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TlsFiles(folder / "cert.pem", folder / "key.pem")


# --- catalogue ------------------------------------------------------------------------------------------


def test_every_waste_category_has_exactly_one_character_plus_the_default_one() -> None:
    categories = {item.category.id for item in load_corpus()}
    labels = [c.match_label for c in CATALOGUE.characters if not c.default]
    assert sorted(labels) == sorted(categories)
    assert CATALOGUE.default.name == "이코"
    assert all(len(c.dialog) >= 3 for c in CATALOGUE.characters)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("    type: 종이 요정", "    typ: 종이 요정"), "missing type"),
        (lambda t: t.replace("  - code: eco-char-paepy\n", "  - code: eco-char-paepy\n    default: true\n"), "default"),
        (lambda t: t.replace("aliases: [페이피,", "aliases: [페티, 페이피,"), "'페티' is used by both"),
        (lambda t: t.replace("correct_disposal: 10", "correct_disposal: -1"), "positive"),
    ],
)
def test_a_malformed_catalogue_is_refused_with_the_reason(edit: Callable[[str], str], message: str) -> None:
    text = (Path(__file__).parents[2] / "eco2/data/characters/catalogue.yaml").read_text("utf-8")
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(edit(text))


# --- the four RPCs --------------------------------------------------------------------------------------


def test_health_checking_reports_the_service_serving(server: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=2)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_get_character_by_match_answers_with_the_category_character(server: int) -> None:
    client, _ = client_for(server)
    petty = client.get_by_match("clear_pet")
    assert petty is not None
    assert (petty.name, petty.code, petty.match_label) == ("페티", "eco-char-petty", "clear_pet")
    assert petty.dialog == petty.dialog_lines[0]
    assert len(petty.dialog_lines) >= 3
    assert petty.category_name == "무색 페트병"
    assert petty.badge_threshold == 10
    korean = client.get_by_match("무색페트병")
    assert korean is not None
    assert korean.code == petty.code


def test_an_unknown_label_is_an_answer_not_an_error(server: int) -> None:
    client, recorder = client_for(server)
    assert client.get_by_match("moon_rock") is None
    assert recorder.sleeps == []


def test_get_default_character_is_iko(server: int) -> None:
    client, _ = client_for(server)
    iko = client.get_default()
    assert (iko.name, iko.match_label, iko.code) == ("이코", "default", "eco-char-iko")


def test_get_character_reward_counts_points_and_badge_progress(server: int) -> None:
    client, _ = client_for(server)
    three = client.get_reward("eco-char-petty", "correct_disposal", 3)
    assert (three.points_per_action, three.points, three.remaining_for_badge) == (10, 30, 7)
    assert not three.badge_unlocked
    assert "7번" in three.message
    ten = client.get_reward("eco-char-petty", "correct_disposal", 10)
    assert ten.badge_unlocked
    assert ten.remaining_for_badge == 0
    assert "투명한 약속" in ten.message
    scans = client.get_reward("eco-char-petty", "image_scan", 4)
    assert (scans.points, scans.badge_unlocked, scans.remaining_for_badge) == (12, False, 10)


def test_list_characters_puts_the_representative_first(server: int) -> None:
    client, _ = client_for(server)
    listing = client.list_characters()
    assert len(listing) == len(CATALOGUE.characters)
    assert listing[0].name == "이코"
    assert {c.match_label for c in listing[1:]} == {c.match_label for c in CATALOGUE.characters if not c.default}


# --- what is retried and what is not -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.get_by_match("  "), "INVALID_ARGUMENT"),
        (lambda c: c.get_reward("eco-char-petty", "correct_disposal", 0), "INVALID_ARGUMENT"),
        (lambda c: c.get_reward("eco-char-nobody", "correct_disposal", 1), "NOT_FOUND"),
    ],
)
def test_invalid_argument_and_not_found_are_permanent_and_not_retried(
    counting: tuple[int, CountingServicer], call: Callable[[CharacterClient], object], code: str
) -> None:
    port, servicer = counting
    client, recorder = client_for(port)
    with pytest.raises(PermanentError, match=code):
        call(client)
    assert recorder.sleeps == []
    assert sum(servicer.calls.values()) == 1


class BareServicer(pb_grpc.CharacterServiceServicer):
    """The generated base class: every method answers UNIMPLEMENTED."""


def test_unimplemented_is_permanent() -> None:
    running = start_server("127.0.0.1:0", servicer=BareServicer())
    try:
        client, recorder = client_for(running.port)
        with pytest.raises(PermanentError, match="UNIMPLEMENTED"):
            client.get_default()
        assert recorder.sleeps == []
    finally:
        running.stop(0)


def test_a_malformed_response_is_permanent() -> None:
    running = start_server("127.0.0.1:0", servicer=MalformedServicer())
    try:
        client, _ = client_for(running.port)
        with pytest.raises(PermanentError, match="malformed"):
            client.get_by_match("glass")
    finally:
        running.stop(0)


def test_unavailable_is_retried_with_backoff_until_the_server_answers() -> None:
    servicer = FlakyServicer(failures=2)
    running = start_server("127.0.0.1:0", servicer=servicer)
    try:
        client, recorder = client_for(running.port, attempts=3, backoff_s=0.1)
        assert client.get_default().name == "이코"
        assert servicer.calls["GetDefaultCharacter"] == 3
        assert len(recorder.sleeps) == 2
        assert 0.05 <= recorder.sleeps[0] <= 0.1 < recorder.sleeps[1] <= 0.2  # doubled, jittered
    finally:
        running.stop(0)


def test_a_server_that_is_down_is_retried_then_fails_as_retryable() -> None:
    client, recorder = client_for(free_port(), attempts=3)
    started = time.monotonic()
    with pytest.raises(RetryableError, match="UNAVAILABLE after 3 attempt"):
        client.get_default()
    assert len(recorder.sleeps) == 2
    assert time.monotonic() - started < 2.0  # connection refused is immediate, not a deadline


def test_a_slow_server_exceeds_the_deadline_which_is_retried_then_retryable() -> None:
    servicer = SlowServicer(delay_s=0.6)
    running = start_server("127.0.0.1:0", servicer=servicer)
    try:
        client, recorder = client_for(running.port, deadline_s=0.15, attempts=2)
        started = time.monotonic()
        with pytest.raises(RetryableError, match="DEADLINE_EXCEEDED after 2 attempt"):
            client.get_default()
        assert time.monotonic() - started < 0.6  # each attempt stopped at its own deadline
        assert len(recorder.sleeps) == 1
        assert servicer.calls["GetDefaultCharacter"] == 2
    finally:
        running.stop(0)


def test_the_breaker_opens_after_repeated_failures_and_closes_after_its_reset_timeout() -> None:
    port = free_port()
    breakers = Breakers(fail_max=2, reset_timeout_s=0.2)
    client, recorder = client_for(port, breakers, attempts=2)
    with pytest.raises(RetryableError):
        client.get_default()
    with pytest.raises(CircuitOpenError):  # the second failure trips it (pybreaker raises on the trip)
        client.get_default()
    sleeps_before = len(recorder.sleeps)
    with pytest.raises(CircuitOpenError):
        client.get_default()
    assert len(recorder.sleeps) == sleeps_before  # refused at once: no attempt, no backoff
    assert breakers.state("character") == "open"
    running = start_server(f"127.0.0.1:{port}")
    try:
        time.sleep(0.3)
        assert client.get_default().name == "이코"
        assert breakers.state("character") == "closed"
    finally:
        running.stop(0)


def test_the_channel_is_opened_by_the_first_call_not_by_the_constructor() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        client, _ = client_for(listener.getsockname()[1], deadline_s=0.2, attempts=1)
        with pytest.raises(socket.timeout):
            listener.accept()
        with pytest.raises(RetryableError):  # a TCP peer that never speaks HTTP/2
            client.get_default()
        connection, _ = listener.accept()  # the call did connect
        connection.close()
        client.close()


# --- TLS ------------------------------------------------------------------------------------------------


def test_tls_round_trip_with_the_configured_ca(tls_files: TlsFiles) -> None:
    running = start_server("127.0.0.1:0", tls=tls_files)
    try:
        client, _ = client_for(running.port, tls=True, ca_path=tls_files.cert)
        glassy = client.get_by_match("glass")
        assert glassy is not None
        assert glassy.name == "글래시"
        credentials = grpc.ssl_channel_credentials(tls_files.cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{running.port}", credentials) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        running.stop(0)


def test_tls_fails_cleanly_for_an_untrusted_certificate_or_a_plaintext_client(tls_files: TlsFiles) -> None:
    running = start_server("127.0.0.1:0", tls=tls_files)
    try:
        untrusted, _ = client_for(running.port, tls=True, attempts=1)  # system roots do not know it
        with pytest.raises(RetryableError, match="UNAVAILABLE"):
            untrusted.get_default()
        plaintext, _ = client_for(running.port, attempts=1, deadline_s=0.5)
        with pytest.raises(RetryableError):
            plaintext.get_default()
    finally:
        running.stop(0)


def test_a_missing_ca_bundle_is_permanent_and_a_missing_server_key_is_a_config_error(tmp_path: Path) -> None:
    client, _ = client_for(free_port(), tls=True, ca_path=tmp_path / "nope.pem")
    with pytest.raises(PermanentError, match="CA bundle"):
        client.get_default()
    with pytest.raises(ConfigError, match="TLS"):
        start_server("127.0.0.1:0", tls=TlsFiles(tmp_path / "cert.pem", tmp_path / "key.pem"))


# --- lifecycle ------------------------------------------------------------------------------------------


def test_a_port_in_use_is_refused_instead_of_shared(server: int) -> None:
    with pytest.raises(OSError, match="cannot listen"):
        start_server(f"127.0.0.1:{server}")


def test_a_graceful_stop_lets_a_running_call_finish() -> None:
    running = start_server("127.0.0.1:0", servicer=SlowServicer(delay_s=0.4))
    client, _ = client_for(running.port, attempts=1)
    results: list[str] = []
    caller = threading.Thread(target=lambda: results.append(client.get_default().name))
    caller.start()
    time.sleep(0.15)
    running.stop(grace_s=2.0)
    caller.join(timeout=3)
    assert results == ["이코"]


def test_the_cli_serves_and_stops_gracefully_on_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "eco2.cli.character_server", "--addr", "127.0.0.1:0", "--grace", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+) \(tls=off\)", line)
        assert match, line
        client, _ = client_for(int(match.group(1)))
        battery = client.get_by_match("battery")
        assert battery is not None
        assert battery.name == "배리"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
