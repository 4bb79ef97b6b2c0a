"""The embedded character service: a real gRPC server on loopback, started on first use, one per process."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import RetryableError
from eco2.subagents.character.client import CharacterClient
from eco2.subagents.character.embedded import EmbeddedCharacterService
from eco2.subagents.character.server import SERVICE_NAME


def health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=2
        )
    return int(reply.status)


def test_it_starts_on_first_use_serves_the_catalogue_and_stops() -> None:
    service = EmbeddedCharacterService()
    assert not service.running  # building it binds nothing
    address = service.address()
    try:
        assert address.startswith("127.0.0.1:")
        assert service.address() == address  # one server, however many ask
        assert health(address) == health_pb2.HealthCheckResponse.SERVING
        assert CharacterClient(address, Breakers()).get_default().name == "이코"
    finally:
        service.stop()
    assert not service.running
    with pytest.raises(grpc.RpcError) as refused:
        health(address)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    again = service.address()  # the next use starts it again
    try:
        assert health(again) == health_pb2.HealthCheckResponse.SERVING
    finally:
        service.stop()


def test_a_client_given_it_resolves_the_address_when_it_connects_and_names_it() -> None:
    service = EmbeddedCharacterService()
    client = CharacterClient(service.address, Breakers())
    assert (client.target, service.running) == ("embedded", False)  # nothing started by the constructor
    try:
        assert client.list_characters()[0].name == "이코"
        assert client.target == service.address()
    finally:
        client.close()
        service.stop()


def test_after_a_fork_the_child_starts_its_own_and_leaves_the_parents_alone() -> None:
    service = EmbeddedCharacterService()
    parents = service.address()
    inherited = service._server  # the parent's server, to stop it at the end
    service.forget()  # what os.register_at_fork runs in a child
    try:
        assert not service.running
        own = service.address()
        assert own != parents
        assert health(parents) == health(own) == health_pb2.HealthCheckResponse.SERVING  # not stopped by the child
    finally:
        service.stop()
        assert inherited is not None
        inherited.stop(0)


def test_a_service_that_cannot_bind_is_a_retryable_error_of_the_client() -> None:
    def no_port() -> str:
        raise OSError("cannot listen on 127.0.0.1:0")

    with pytest.raises(RetryableError, match="embedded service did not start"):
        CharacterClient(no_port, Breakers(), attempts=1).get_default()
