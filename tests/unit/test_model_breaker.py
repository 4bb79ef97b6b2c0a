"""The model's calls go through a breaker like every upstream: once it opens, chats stop waiting on it."""

from __future__ import annotations

import time

import pytest

from eco2.adapters.openai.answer import OpenAIAnswerWriter
from eco2.adapters.openai.client import MODEL_BREAKER
from eco2.adapters.openai.intent import OpenAIIntentClassifier
from eco2.adapters.resilience.breakers import Breakers, CircuitOpenError
from eco2.config import Settings
from eco2.errors import PermanentError, RetryableError
from eco2.intent.offline import OfflineIntentClassifier
from eco2.ports.llm import AnswerInput
from tests.support.openai_server import FakeOpenAI

QUESTION = AnswerInput(message="[fail] 페트병 어떻게 버려?", intents=("waste",), results=())


def settings_for(server: FakeOpenAI, **extra: str) -> Settings:
    return Settings.from_env({"OPENAI_API_KEY": "sk-unit", "OPENAI_BASE_URL": server.base_url, **extra})


def test_failing_intent_and_answer_calls_open_one_breaker_and_then_cost_nothing() -> None:
    with FakeOpenAI() as server:
        breakers = Breakers(fail_max=3, reset_timeout_s=60)
        settings = settings_for(server)
        classifier = OpenAIIntentClassifier(settings, OfflineIntentClassifier.default(), breakers)
        writer = OpenAIAnswerWriter(settings, breakers)
        assert classifier.classify("[fail] 페트병").provider == "offline"  # HTTP 500: retryable, counted
        with pytest.raises(RetryableError):
            list(writer.stream(QUESTION))
        assert classifier.classify("[fail] 캔").provider == "offline"
        assert breakers.state(MODEL_BREAKER) == "open"
        sent = len(server.requests)
        started = time.monotonic()
        assert classifier.classify("페트병").provider == "offline"  # no request: the breaker is open
        with pytest.raises(CircuitOpenError):
            list(writer.stream(AnswerInput(message="페트병", intents=("waste",), results=())))
        assert len(server.requests) == sent
        assert time.monotonic() - started < 1


def test_a_refused_key_does_not_count_against_the_model() -> None:
    with FakeOpenAI() as server:
        breakers = Breakers(fail_max=2, reset_timeout_s=60)
        writer = OpenAIAnswerWriter(settings_for(server), breakers)
        classifier = OpenAIIntentClassifier(settings_for(server), OfflineIntentClassifier.default(), breakers)
        for _ in range(3):
            with pytest.raises(PermanentError):  # a 401 is the request's fault, not the model's health
                list(writer.stream(AnswerInput(message="[deny] 페트병", intents=("waste",), results=())))
            assert classifier.classify("[deny] 페트병").provider == "offline"
        assert breakers.state(MODEL_BREAKER) == "closed"


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_transport_errors_of_a_streamed_body_are_retryable_whichever_http_library_the_sdk_uses(library: str) -> None:
    import importlib

    from eco2.adapters.openai.errors import translate

    module = pytest.importorskip(library)
    request = module.Request("POST", "http://model/v1/chat/completions")
    assert isinstance(translate(module.ReadTimeout("slow", request=request)), RetryableError)
    assert isinstance(translate(module.RemoteProtocolError("cut", request=request)), RetryableError)
    assert importlib.import_module(library) is module
