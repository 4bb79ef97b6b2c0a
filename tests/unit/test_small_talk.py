"""Small talk, thanks, greetings and out-of-scope questions get a fitting short reply, not the retrieval
fallback; the "name an item or a district" hint appears only where an item or district would help."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from eco2.adapters.offline.composer import NARROW_HINT, compose
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.ports.llm import AnswerInput
from eco2.subagents.general.subagent import OUT_OF_SCOPE


class _Chat:
    def __init__(self) -> None:
        self.done: dict[str, dict[str, Any]] = {}
        settings = Settings.from_env({"ECO2_LLM_PROVIDER": "offline", "ECO2_CHARACTER_GRPC_ADDR": "127.0.0.1:1"})
        self.container, _ = bootstrap_inline(settings, listener=self._listen)

    def _listen(self, job_id: str, fields: dict[str, str]) -> None:
        if fields.get("type") == "done":
            self.done[job_id] = json.loads(fields["data"])

    def ask(self, message: str) -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        self.container.service.accept((), {"job_id": job_id, "message": message})
        return self.done[job_id]


@pytest.fixture(scope="module")
def chat() -> _Chat:
    return _Chat()


@pytest.mark.parametrize(
    ("message", "fits"),
    [
        ("오늘 기분이 좀 우울하네", "마음이 무거운 날"),
        ("고마워", "도움이 되었다니"),
        ("안녕하세요", "분리배출 도우미 이코"),
        ("너 진짜 똑똑하다", "칭찬"),
        ("주식 뭐 사야 돼?", OUT_OF_SCOPE),
        ("점심 뭐 먹지?", OUT_OF_SCOPE),
        ("파이썬으로 웹사이트 만드는 법 알려줘", OUT_OF_SCOPE),
    ],
)
def test_small_talk_gets_a_fitting_reply_without_the_retrieval_fallback(chat: _Chat, message: str, fits: str) -> None:
    data = chat.ask(message)
    assert data["intent"] == "general"
    assert fits in data["answer"]
    assert NARROW_HINT not in data["answer"]
    assert "찾지 못했어요" not in data["answer"]
    assert "참고로" not in data["answer"]  # no list of what is missing either
    assert len(data["answer"]) < 200


def test_an_unknown_item_still_gets_the_hint(chat: _Chat) -> None:
    data = chat.ask("그거 어떻게 버려야 해?")  # no earlier turn says what "그거" is
    assert data["subagents"]["waste_rag"] in {"weak", "empty"}
    assert NARROW_HINT in data["answer"]
    assert OUT_OF_SCOPE not in data["answer"]


def test_a_character_question_that_fails_gets_no_item_hint() -> None:
    failed = SubagentResult("character", ResultStatus.FAILED, error="unavailable")
    text = compose(
        AnswerInput(message="이코 캐릭터는 누구야?", intents=("character",), results=(failed,), missing=("character",))
    )
    assert NARROW_HINT not in text
    assert "캐릭터 정보" in text


def test_a_waste_question_with_nothing_found_keeps_the_hint() -> None:
    weak = SubagentResult("waste_rag", ResultStatus.WEAK)
    text = compose(
        AnswerInput(message="뭐시기 어떻게 버려?", intents=("waste",), results=(weak,), missing=("waste_rag",))
    )
    assert NARROW_HINT in text


def test_a_result_that_speaks_for_itself_is_not_listed_as_missing_again() -> None:
    empty = SubagentResult(
        "collection_point", ResultStatus.EMPTY, summary="강남구에서 폐형광등 수거 장소를 찾지 못했어요."
    )
    text = compose(
        AnswerInput(
            message="강남구 형광등 수거함",
            intents=("collection_point",),
            results=(empty,),
            missing=("collection_point",),
        )
    )
    assert "찾지 못했어요" in text
    assert "참고로" not in text


def test_the_model_hears_what_a_subagent_said_when_it_found_nothing_or_failed() -> None:
    from eco2.adapters.openai.answer import build_messages

    empty = SubagentResult("general", ResultStatus.EMPTY, summary=OUT_OF_SCOPE)
    failed = SubagentResult(
        "character", ResultStatus.FAILED, summary="캐릭터 서비스에 연결할 수 없어요. (10.0.0.9:50051)"
    )
    asked = AnswerInput(message="주식 뭐 사?", intents=("general",), results=(empty, failed), missing=("character",))
    question = build_messages(asked)[-1]["content"]
    assert OUT_OF_SCOPE in question
    assert "10.0.0.9:50051" in question
