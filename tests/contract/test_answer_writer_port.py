"""``AnswerWriterPort`` (eco2/ports/llm.py): the answer as a stream of text pieces, naming its provider.

Run against the offline composer, the OpenAI writer streaming from the local fake OpenAI server through the
official client, and the ``ListWriter`` fake that unit tests use in their place. A model that fails must
surface as an ``UpstreamError`` (the service then finishes the answer with the composer).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from eco2.adapters.offline.composer import ComposerAnswerWriter
from eco2.adapters.openai.answer import OpenAIAnswerWriter
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Secret, Settings
from eco2.domain.intents import Intent
from eco2.domain.subagents import ResultStatus, Source, SubagentResult
from eco2.errors import UpstreamError
from eco2.ports.llm import AnswerInput, AnswerWriterPort, Turn
from tests.contract.conftest import implementation
from tests.fakes import ListWriter
from tests.support.openai_server import FakeOpenAI


def _openai(request: pytest.FixtureRequest) -> OpenAIAnswerWriter:
    server: FakeOpenAI = request.getfixturevalue("fake_openai")
    settings = Settings(
        openai_api_key=Secret("sk-contract"),
        openai_base_url=server.base_url,
        openai_model="fake-chat",
        openai_timeout_s=5.0,
    )
    return OpenAIAnswerWriter(settings, Breakers(fail_max=1000))


IMPLEMENTATIONS = [
    implementation(ComposerAnswerWriter),
    implementation(OpenAIAnswerWriter, _openai),
    implementation(ListWriter),
]

WASTE = SubagentResult(
    "waste_rag",
    ResultStatus.OK,
    summary="투명 페트병은 내용물을 비우고 라벨을 떼어 찌그러뜨린 뒤 투명 페트병 전용 수거함에 버려요.",
    sources=(Source("eco2 분리배출 지식베이스: 투명 페트병", "eco2://waste/clear_pet_bottle"),),
)

INPUTS = {
    "answered": AnswerInput("페트병 어떻게 버려?", ("waste",), (WASTE,)),
    "no_results": AnswerInput("페트병 어떻게 버려?", ("waste",), ()),
    "general_no_results": AnswerInput("안녕!", ("general",), ()),
    "every_status": AnswerInput(
        "소파 버리고 내일 날씨도 알려줘",
        ("bulk_waste", "weather"),
        tuple(SubagentResult(f"sub{n}", status, summary="") for n, status in enumerate(ResultStatus)),
        missing=("bulk_waste",),
    ),
    "history": AnswerInput(
        "그럼 캔은?",
        ("waste",),
        (WASTE,),
        history=(Turn("페트병 어떻게 버려?", "라벨을 떼고 버려요.", "waste"),),
        summary="사용자는 분리배출을 묻고 있다.",
    ),
    "every_intent": AnswerInput("뭐든 알려줘", tuple(i.value for i in Intent), (WASTE,)),
}


@pytest.fixture(params=IMPLEMENTATIONS)
def writer(request: pytest.FixtureRequest) -> AnswerWriterPort:
    port: AnswerWriterPort = request.param(request)
    return port


def pieces(writer: AnswerWriterPort, answer_input: AnswerInput) -> list[str]:
    stream = writer.stream(answer_input)
    assert isinstance(stream, Iterator)
    return list(stream)


def test_the_provider_is_a_short_label_value(writer: AnswerWriterPort) -> None:
    # It goes into the done event (provider.answer) and metric labels.
    assert isinstance(writer.provider, str)
    assert writer.provider
    assert writer.provider.isascii()
    assert writer.provider.replace("_", "").replace("-", "").isalnum()


@pytest.mark.parametrize("case", list(INPUTS))
def test_the_stream_yields_str_pieces(writer: AnswerWriterPort, case: str) -> None:
    got = pieces(writer, INPUTS[case])
    assert all(type(piece) is str for piece in got), [type(p).__name__ for p in got]


def test_a_normal_question_gets_a_non_empty_answer(writer: AnswerWriterPort) -> None:
    got = pieces(writer, INPUTS["answered"])
    assert got
    assert "".join(got).strip()


@pytest.mark.parametrize("case", ["no_results", "general_no_results", "every_status"])
def test_a_question_without_usable_results_still_gets_words(writer: AnswerWriterPort, case: str) -> None:
    assert "".join(pieces(writer, INPUTS[case])).strip()


def test_the_stream_is_lazy_and_can_be_abandoned(writer: AnswerWriterPort) -> None:
    # The service stops reading when the job is cancelled: taking one piece and closing must be clean.
    stream = writer.stream(INPUTS["answered"])
    first = list(itertools.islice(stream, 1))
    assert len(first) == 1
    assert isinstance(first[0], str)
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def test_each_call_streams_the_whole_answer_again(writer: AnswerWriterPort) -> None:
    # A restarted answer (after a reset) asks the writer again with the same input.
    first = "".join(pieces(writer, INPUTS["answered"]))
    second = "".join(pieces(writer, INPUTS["answered"]))
    assert first.strip()
    assert second.strip()


# -- failure ------------------------------------------------------------------------------------------------
FAILING = [
    implementation(OpenAIAnswerWriter, _openai),  # fails as the message's marker tells the fake server
    implementation(ListWriter, lambda _request: ListWriter(fail_after=1), variant="fail-after-1"),
    implementation(ListWriter, lambda _request: ListWriter(fail_after=0, retryable=False), variant="permanent"),
]


@pytest.fixture(params=FAILING)
def failing_writer(request: pytest.FixtureRequest) -> AnswerWriterPort:
    port: AnswerWriterPort = request.param(request)
    return port


@pytest.mark.parametrize(
    "message", ["[fail] 페트병 어떻게 버려?", "[cut] 페트병 어떻게 버려?"], ids=["http-500", "cut"]
)
def test_a_failing_model_raises_an_upstream_error(failing_writer: AnswerWriterPort, message: str) -> None:
    with pytest.raises(UpstreamError):  # noqa: PT012 - it may fail before the first piece or in the middle
        for piece in failing_writer.stream(AnswerInput(message, ("waste",), (WASTE,))):
            assert isinstance(piece, str)
