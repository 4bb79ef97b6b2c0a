"""``SubagentPort`` (eco2/ports/subagents.py, eco2/domain/subagents.py), run over every registry entry.

Each entry of ``eco2.domain.registry.REGISTRY`` is checked with

- ``catalogue-keyless``: what the production catalogue builds without any key (a keyless deployment:
  ``NotConfigured`` answers, the embedded character service, the bundled RAG, FAQ and price table);
- ``catalogue-keyed``: what it builds with keys pointing at the local fakes of its upstreams (KMA, MOIS,
  odcloud, Kakao, the OpenAI Responses and Images APIs), for the entries that have one;
- ``ScriptedSubagent``: the fake of tests/fakes.py that unit tests put in its place.

The promises: ``run`` returns a ``SubagentResult`` named after the entry with a ``ResultStatus``, text
fields that are text and a JSON round trip (results cross Celery as plain dicts) that loses nothing, or it
raises ``RetryableError``/``PermanentError``/``NotConfiguredError``; an entry without its upstream answers at
once, without touching the network.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.intents import Intent
from eco2.domain.registry import REGISTRY, subagent_names
from eco2.domain.request import GeoPoint
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import NotConfiguredError, PermanentError, RetryableError
from eco2.ports.subagents import SubagentPort
from eco2.subagents.catalog import build_subagents
from eco2.subagents.context import SubagentContext
from eco2.subagents.unavailable import NotConfigured
from tests.fakes import ScriptedSubagent
from tests.support import fake_kakao, fake_kma, fake_mois, fake_odcloud, fake_openai_images
from tests.support.fake_kakao import FakeKakao
from tests.support.fake_kma import FakeKma
from tests.support.fake_mois import FakeMois
from tests.support.fake_odcloud import FakeOdcloud
from tests.support.fake_openai_images import FakeOpenAIImages
from tests.support.fake_openai_responses import FakeResponses

ALLOWED_ERRORS = (RetryableError, PermanentError, NotConfiguredError)
YEOKSAM = GeoPoint(*fake_kakao.YEOKSAM)


class Upstreams:
    """The local fakes of every upstream a keyed entry talks to, started once for the module."""

    def __init__(self, stack: list[Any]) -> None:
        self.kakao, self.kma, self.mois, self.odcloud, self.responses, self.images = stack


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with (
        FakeKakao() as kakao,
        FakeKma() as kma,
        FakeMois() as mois,
        FakeOdcloud() as odcloud,
        FakeResponses() as responses,
        FakeOpenAIImages() as images,
    ):
        yield Upstreams([kakao, kma, mois, odcloud, responses, images])


def _kakao(up: Upstreams) -> dict[str, Any]:
    return {"kakao_api_key": Secret(fake_kakao.KEY), "kakao_base_url": up.kakao.base_url}


KEYED: dict[str, Callable[[Upstreams], dict[str, Any]]] = {
    "weather": lambda up: {"data_go_kr_key": Secret(fake_kma.KEY), "kma_base_url": up.kma.base_url},
    "bulk_waste": lambda up: {
        "data_go_kr_key": Secret(fake_mois.VALID_KEY),
        "mois_base_url": up.mois.base_url,
        **_kakao(up),
    },
    "location": _kakao,
    "collection_point": lambda up: {
        "keco_api_key": Secret(fake_odcloud.VALID_KEY),
        "odcloud_base_url": up.odcloud.base_url,
        **_kakao(up),
    },
    "web_search": lambda up: {
        "openai_api_key": Secret(up.responses.api_key),
        "openai_base_url": up.responses.base_url,
        "web_search": "openai",
    },
    "image_generation": lambda up: {
        "openai_api_key": Secret(fake_openai_images.API_KEY),
        "openai_base_url": up.images.base_url,
    },
}
"""Settings that give an entry its upstream (a local fake); the others are the same with or without keys."""

SETUPS = ("catalogue-keyless", "catalogue-keyed", "ScriptedSubagent")
CASES = [
    pytest.param((spec.name, setup), id=f"{spec.name}-{setup}")
    for spec in REGISTRY
    for setup in SETUPS
    if setup != "catalogue-keyed" or spec.name in KEYED
]


def _settings(tmp: Path, **overrides: Any) -> Settings:
    return Settings(state_dir=tmp, upstream_timeout_s=2.0, **overrides)


def _catalogue(settings: Settings) -> dict[str, SubagentPort]:
    return build_subagents(SubagentContext(settings, Breakers(fail_max=1000), NoOpMetricsAdapter()))


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubagentPort]:
    return _catalogue(_settings(tmp_path_factory.mktemp("keyless")))


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, upstreams: Upstreams) -> dict[str, SubagentPort]:
    """Per keyed entry, what the catalogue builds with that entry's keys (one catalogue each: the data.go.kr
    key of KMA's fake is not MOIS's)."""
    tmp = tmp_path_factory.mktemp("keyed")
    return {name: _catalogue(_settings(tmp, **settings(upstreams)))[name] for name, settings in KEYED.items()}


@pytest.fixture(params=CASES)
def subagent(request: pytest.FixtureRequest) -> tuple[str, SubagentPort]:
    name, setup = request.param
    if setup == "ScriptedSubagent":
        return name, ScriptedSubagent(name)
    catalogue = request.getfixturevalue("keyless" if setup == "catalogue-keyless" else "keyed")
    return name, catalogue[name]


def intents_of(name: str) -> tuple[str, ...]:
    """The intents a round would run ``name`` for: those it serves, else those it enriches (vision: waste)."""
    spec = REGISTRY.spec_for(name)
    return tuple(i.value for i in spec.serves or spec.enriches) or (Intent.WASTE.value,)


QUERIES: dict[str, Callable[[str], SubagentQuery]] = {
    "typical": lambda name: SubagentQuery(
        "job-1", "강남구에서 페트병이랑 소파 버리는 법, 날씨도 알려줘", intents_of(name)
    ),
    "located": lambda name: SubagentQuery(
        "job-2", "근처에서 폐건전지 버릴 곳", intents_of(name), user_location=YEOKSAM
    ),
    "hinted": lambda name: SubagentQuery("job-3", "이거 어떻게 버려?", intents_of(name), hints={"item": "페트병"}),
    "other_intent": lambda name: SubagentQuery("job-4", "안녕하세요", ("general", "waste")),
    "empty": lambda name: SubagentQuery("job-5", "", intents_of(name)),
    "emoji": lambda name: SubagentQuery("job-6", "🥤♻️🤔", intents_of(name)),
    "longest": lambda name: SubagentQuery("job-7", "페트병 " * 1000, intents_of(name)),  # the contract's 4000 chars
}


def outcome(subagent: SubagentPort, query: SubagentQuery) -> SubagentResult | BaseException:
    try:
        return subagent.run(query)
    except ALLOWED_ERRORS as exc:
        return exc


@pytest.mark.parametrize("query", list(QUERIES))
def test_run_returns_a_result_of_its_entry_or_raises_an_upstream_error(
    subagent: tuple[str, SubagentPort], query: str
) -> None:
    name, impl = subagent
    got = outcome(impl, QUERIES[query](name))
    if isinstance(got, BaseException):
        assert str(got)  # says why; the runner turns it into a result
        return
    assert isinstance(got, SubagentResult)
    assert got.name == name
    assert isinstance(got.status, ResultStatus)
    assert isinstance(got.summary, str)
    assert isinstance(got.error, str)
    assert isinstance(got.data, dict)
    assert all(isinstance(key, str) for key in got.data)
    assert isinstance(got.sources, tuple)
    assert all(isinstance(s, Source) and isinstance(s.title, str) and isinstance(s.url, str) for s in got.sources)


@pytest.mark.parametrize("query", ["typical", "located", "hinted"])
def test_a_result_crosses_celery_as_json_without_loss(subagent: tuple[str, SubagentPort], query: str) -> None:
    name, impl = subagent
    got = outcome(impl, QUERIES[query](name))
    if isinstance(got, BaseException):
        return
    wire = json.loads(json.dumps(got.to_dict(), ensure_ascii=False))
    assert SubagentResult.from_dict(wire) == got


def test_the_catalogue_builds_every_registry_entry(keyless: dict[str, SubagentPort]) -> None:
    assert set(keyless) == set(subagent_names())


def test_keys_give_the_keyed_entries_their_upstream(keyed: dict[str, SubagentPort]) -> None:
    # Otherwise the keyed cases above would only repeat the keyless ones.
    assert [name for name, impl in keyed.items() if isinstance(impl, NotConfigured)] == []


def test_entries_without_their_upstream_answer_at_once_without_network(
    keyless: dict[str, SubagentPort], monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[object] = []

    def refuse(sock: socket.socket, address: object) -> None:
        connections.append(address)
        raise OSError("no network for a subagent that is not configured")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    unconfigured = {name: impl for name, impl in keyless.items() if isinstance(impl, NotConfigured)}
    assert unconfigured, "a keyless catalogue has entries without their upstream"
    for name, impl in unconfigured.items():
        for make in QUERIES.values():
            started = time.perf_counter()
            try:
                result = impl.run(make(name))
            except NotConfiguredError:
                pass
            else:
                assert result.name == name
                assert result.status is not ResultStatus.FAILED
            assert time.perf_counter() - started < 0.5, name
    assert connections == []
