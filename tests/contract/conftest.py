"""Contract suites: one per port, each run against every implementation of it.

As LangGraph runs one checkpointer suite against every saver, each module here declares the implementations
of its port (the production adapters and the fakes of ``tests/fakes.py`` that stand in for them) as a list
of :func:`implementation` parameters, and its tests take the port through one parametrised fixture. Adding
an adapter means adding one line to that list; a fake that drifts from its port fails the same assertions
as an adapter would.

Servers an implementation needs (Redis, the local fakes of OpenAI and Kakao) are fixtures requested only by
the implementations that use them, so the in-memory ones run without any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.fake_kakao import FakeKakao
from tests.support.openai_server import FakeOpenAI


@dataclass(frozen=True)
class Implementation:
    """How a contract suite builds one implementation: its class and a builder given the test's request."""

    cls: type
    build: Callable[[pytest.FixtureRequest], Any]
    traits: Mapping[str, Any] = field(default_factory=dict)
    """What a suite needs to know about this setup to read its promises (e.g. ``otel=True``)."""

    def __call__(self, request: pytest.FixtureRequest) -> Any:
        """The implementation, checked to be what the parameter's id says it is."""
        built = self.build(request)
        assert isinstance(built, self.cls), f"{self.cls.__name__} builder returned {type(built).__name__}"
        return built


def implementation(
    cls: type,
    build: Callable[[pytest.FixtureRequest], Any] | None = None,
    *,
    variant: str = "",
    marks: pytest.MarkDecorator | tuple[pytest.MarkDecorator, ...] = (),
    **traits: Any,
) -> Any:
    """A ``pytest.param`` whose id is the class name (``-variant`` when a class is run in several setups).

    ``build`` gets the test's ``FixtureRequest`` so it can ask for the fixtures it needs
    (``request.getfixturevalue("redis_url")``); without it the class is called with no arguments. ``traits``
    are read back with :func:`traits_of`.
    """
    builder = build or (lambda _request: cls())
    name = f"{cls.__name__}-{variant}" if variant else cls.__name__
    return pytest.param(Implementation(cls, builder, traits), id=name, marks=marks)


def traits_of(request: pytest.FixtureRequest, fixture: str) -> Mapping[str, Any]:
    """The traits of the implementation the parametrised ``fixture`` was built from in this test."""
    param = request.node.callspec.params[fixture]
    return param.traits if isinstance(param, Implementation) else {}


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    """The local OpenAI-compatible server (structured-output intents, streamed answers)."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def fake_kakao() -> Iterator[FakeKakao]:
    """The local Kakao Local server (address search, coord2regioncode, places)."""
    with FakeKakao() as server:
        yield server
