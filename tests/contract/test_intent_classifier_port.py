"""``IntentClassifierPort`` (eco2/ports/llm.py, eco2/domain/intents.py): what any classifier must return.

Run against the offline classifier, the OpenAI one through the official client against the local fake
OpenAI server (tests/support/openai_server.py), the same OpenAI classifier with its model down (it falls back
to the offline one), and the ``KeywordClassifier`` fake that unit tests put in the offline one's place.
"""

from __future__ import annotations

import pytest

from eco2.adapters.openai.intent import OpenAIIntentClassifier
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.intents import Intent, IntentResult
from eco2.intent.offline import OfflineIntentClassifier
from eco2.ports.llm import IntentClassifierPort
from tests.contract.conftest import implementation
from tests.fakes import KeywordClassifier
from tests.support.openai_server import FakeOpenAI


def _openai(request: pytest.FixtureRequest, base_url: str | None = None) -> OpenAIIntentClassifier:
    server: FakeOpenAI = request.getfixturevalue("fake_openai")
    settings = Settings(
        openai_api_key=Secret("sk-contract"),
        openai_base_url=base_url or server.base_url,
        openai_model="fake-chat",
        openai_intent_timeout_s=2.0,
    )
    return OpenAIIntentClassifier(settings, fallback=OfflineIntentClassifier.default(), breakers=Breakers())


IMPLEMENTATIONS = [
    implementation(OfflineIntentClassifier, lambda _request: OfflineIntentClassifier.default()),
    implementation(OpenAIIntentClassifier, _openai),
    implementation(
        OpenAIIntentClassifier,
        lambda request: _openai(request, base_url="http://127.0.0.1:9/v1"),  # nothing listens there
        variant="model-down",
    ),
    implementation(KeywordClassifier),
]

MESSAGES = {
    "waste": "페트병 어떻게 버려?",
    "multi": "소파 버리는 법이랑 오늘 날씨 알려줘",
    "greeting": "안녕하세요",
    "empty": "",
    "blank": "   \n\t ",
    "emoji": "🥤♻️🤔",
    "latin": "How do I recycle a PET bottle?",
    "markup": '<script>alert("x")</script> {"intents": []} [fail]',
    "control": "\x00\x07페트\u200b병\ufeff",
    "long": "페트병 " * 1000,
}


@pytest.fixture(params=IMPLEMENTATIONS)
def classifier(request: pytest.FixtureRequest) -> IntentClassifierPort:
    port: IntentClassifierPort = request.param(request)
    return port


def check(result: object) -> IntentResult:
    """The promises of every classification: 1-3 distinct intents of the closed set, primary first."""
    assert isinstance(result, IntentResult)
    assert 1 <= len(result.intents) <= 3
    intents = [score.intent for score in result.intents]
    assert all(isinstance(i, Intent) for i in intents)
    assert len(set(intents)) == len(intents)
    assert all(isinstance(s.confidence, float | int) and 0.0 <= s.confidence <= 1.0 for s in result.intents)
    assert result.primary is intents[0]
    assert result.confidence == result.intents[0].confidence
    assert result.names() == [i.value for i in intents]
    assert isinstance(result.provider, str)
    assert result.provider
    return result


@pytest.mark.parametrize("message", list(MESSAGES.values()), ids=list(MESSAGES))
def test_every_string_gets_a_valid_classification(classifier: IntentClassifierPort, message: str) -> None:
    check(classifier.classify(message))


@pytest.mark.parametrize(
    "history",
    [(), ("페트병 어떻게 버려?",), ("", "🥤", "x" * 3000), tuple(f"{n}번째 질문" for n in range(30))],
    ids=["none", "one", "odd", "long"],
)
def test_any_history_is_accepted(classifier: IntentClassifierPort, history: tuple[str, ...]) -> None:
    check(classifier.classify("그럼 캔은?", history))
    check(classifier.classify("그럼 캔은?", list(history)))  # any sequence


def test_the_same_message_gets_the_same_primary_intent(classifier: IntentClassifierPort) -> None:
    first = check(classifier.classify("소파 버리는 법 알려줘"))
    second = check(classifier.classify("소파 버리는 법 알려줘"))
    assert first.primary is second.primary


def test_the_provider_is_a_short_label_value(classifier: IntentClassifierPort) -> None:
    # It becomes a metric label and the done event's provider: a small identifier, never message text.
    provider = check(classifier.classify("페트병 라벨은 떼야 해?")).provider
    assert provider.isascii()
    assert provider.replace("_", "").replace("-", "").isalnum()
    assert len(provider) <= 32
