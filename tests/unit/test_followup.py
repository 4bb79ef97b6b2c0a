"""What a follow-up refers to, resolved offline from the session's earlier turns (eco2.orchestrator.followup)."""

from __future__ import annotations

import pytest

from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.orchestrator.followup import Resolution, TopicReader


@pytest.fixture(scope="module")
def reader() -> TopicReader:
    return TopicReader()


def _turn(reader: TopicReader, message: str, intents: list[str], **results: SubagentResult) -> dict[str, str]:
    return {"user": message, "intent": intents[0], **reader.topic(message, intents, {}, results)}


def test_a_pronoun_carries_the_earlier_item(reader: TopicReader) -> None:
    turns = [_turn(reader, "우유팩은 어떻게 버려?", ["waste"])]
    resolved = reader.resolve("그거 씻어야 돼?", ["waste"], turns)
    assert resolved.hints == {"item": "우유팩"}
    assert resolved.carried == ("item",)


def test_a_pronoun_wins_over_a_tool_named_on_the_way(reader: TopicReader) -> None:
    turns = [_turn(reader, "깨진 유리컵 어떻게 버려?", ["waste"])]
    assert reader.resolve("그건 신문지에 싸야 돼?", ["waste"], turns).hints["item"] == "깨진 유리컵"


def test_an_omitted_item_is_carried(reader: TopicReader) -> None:
    turns = [_turn(reader, "참치캔 어떻게 버려?", ["waste"])]
    assert reader.resolve("헹궈야 해?", ["waste"], turns).hints == {"item": "참치캔"}


def test_a_part_is_the_earlier_items_part(reader: TopicReader) -> None:
    turns = [_turn(reader, "유리병 어떻게 버려?", ["waste"])]
    assert reader.resolve("그럼 뚜껑은?", ["waste"], turns).hints == {"item": "금속 병뚜껑"}


def test_a_new_item_of_the_same_kind_is_not_carried_over(reader: TopicReader) -> None:
    turns = [_turn(reader, "페트병 어떻게 버려?", ["waste"])]
    assert reader.resolve("그럼 캔은?", ["waste"], turns).hints == {}


def test_a_new_question_carries_no_item(reader: TopicReader) -> None:
    turns = [_turn(reader, "페트병 어떻게 버려?", ["waste"])]
    assert reader.resolve("이코는 어떤 캐릭터야?", ["character"], turns).hints == {}
    assert reader.resolve("오늘 날씨 어때?", ["weather"], turns).hints == {}
    assert reader.resolve("고마워!", ["general"], turns).hints == {}


def test_a_district_holds_for_the_next_district_question(reader: TopicReader) -> None:
    turns = [_turn(reader, "강남구 소파 버리는 법", ["bulk_waste"])]
    resolved = reader.resolve("냉장고는?", ["bulk_waste"], turns)
    assert resolved.hints == {"district": "서울특별시 강남구"}
    # a district named in the message wins
    assert "district" not in reader.resolve("수원시 영통구 냉장고는?", ["bulk_waste"], turns).hints


def test_a_follow_up_classified_away_stays_in_its_thread(reader: TopicReader) -> None:
    turns = [_turn(reader, "강남구 폐휴대폰 수거함 어디야?", ["collection_point"])]
    resolved = reader.resolve("드라이기는?", ["waste"], turns)
    assert resolved.intents == ("collection_point",)
    assert resolved.hints["district"] == "서울특별시 강남구"


def test_a_pronoun_after_another_topic_reaches_back(reader: TopicReader) -> None:
    turns = [_turn(reader, "음료캔 어떻게 버려?", ["waste"]), _turn(reader, "오늘 날씨 어때?", ["weather"])]
    resolved = reader.resolve("그럼 아까 그거 찌그러뜨려야 돼?", ["weather"], turns)
    assert resolved.hints["item"] == "음료캔"
    assert resolved.intents == ("waste",)


@pytest.mark.parametrize("reply", ["강남구", "강남구요", "역삼동이요", "서울 강남구예요", "강남구에 살아요"])
def test_a_bare_place_answers_the_question_asked_back(reader: TopicReader, reply: str) -> None:
    asked = SubagentResult(
        "collection_point", ResultStatus.NEEDS_INPUT, summary="어느 시·군·구?", data={"kind": "폐휴대폰"}
    )
    turns = [_turn(reader, "폐휴대폰 수거함 어디 있어?", ["collection_point"], collection_point=asked)]
    assert turns[0]["awaiting"] == "district"
    resolved = reader.resolve(reply, ["general"], turns)
    assert resolved.intents == ("collection_point",)
    assert resolved.message == f"폐휴대폰 수거함 어디 있어? {reply}"
    assert resolved.carried == ("question",)


def test_a_new_question_after_a_question_back_is_a_new_topic(reader: TopicReader) -> None:
    asked = SubagentResult("collection_point", ResultStatus.NEEDS_INPUT, data={"kind": "폐휴대폰"})
    turns = [_turn(reader, "폐휴대폰 수거함 어디 있어?", ["collection_point"], collection_point=asked)]
    resolved = reader.resolve("우유팩 어떻게 버려?", ["waste"], turns)
    assert resolved.intents == ()
    assert resolved.message == "우유팩 어떻게 버려?"


def test_no_turns_no_change(reader: TopicReader) -> None:
    resolved = reader.resolve("그거 씻어야 돼?", ["waste"], [])
    assert resolved == Resolution({}, "그거 씻어야 돼?", (), ())


def test_with_a_model_the_follow_up_gets_the_history_and_the_earlier_items_results() -> None:
    # The answer model sees what it needs: the earlier turn itself, and research about the item it meant.
    import uuid
    from collections.abc import Iterator

    from eco2.bootstrap import bootstrap_inline
    from eco2.config import Settings
    from eco2.ports.llm import AnswerInput

    seen: list[AnswerInput] = []

    class RecordingWriter:
        provider = "recording"

        def stream(self, answer_input: AnswerInput) -> Iterator[str]:
            seen.append(answer_input)
            yield "ok"

    container, _ = bootstrap_inline(Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}), writer=RecordingWriter())
    session = uuid.uuid4().hex
    for message in ("우유팩은 어떻게 버려?", "그거 씻어야 돼?"):
        container.service.accept((), {"job_id": uuid.uuid4().hex, "message": message, "session_id": session})
    follow_up = seen[-1]
    assert follow_up.message == "그거 씻어야 돼?"
    assert [turn.user for turn in follow_up.history] == ["우유팩은 어떻게 버려?"]
    rag = next(result for result in follow_up.results if result.name == "waste_rag")
    assert rag.status.usable
    assert "[우유팩]" in rag.summary


@pytest.mark.parametrize(
    "hostile",
    ["에서요" * 40 + "x", "에 살아요" * 60, "요" * 3000, "그거 " * 2000, "😀" * 500, "", "???", "a" * 5000],
)
def test_any_message_is_read_in_about_a_millisecond_and_never_raises(reader: TopicReader, hostile: str) -> None:
    import time

    asked = SubagentResult("bulk_waste", ResultStatus.NEEDS_INPUT, summary="어느 시·군·구?")
    turns = [_turn(reader, "소파 버리려면?", ["bulk_waste"], bulk_waste=asked)]
    started = time.perf_counter()
    reader.resolve(hostile, ["general"], turns)
    reader.topic(hostile, ["location"], {}, {})
    assert time.perf_counter() - started < 0.05  # the regex that replaced this took seconds at 70 letters


@pytest.mark.parametrize(
    ("message", "intents"),
    [
        ("그건 그렇고 오늘 날씨 어때?", ["weather"]),
        ("이거 스티로폼인데 어떻게 버려?", ["waste"]),
        ("이게 비닐이야?", ["waste"]),
        ("고마워 그거 말고 캔은?", ["waste"]),
    ],
)
def test_a_pronoun_that_is_not_about_the_earlier_item_carries_nothing(
    reader: TopicReader, message: str, intents: list[str]
) -> None:
    turns = [_turn(reader, "페트병 어떻게 버려?", ["waste"])]
    resolved = reader.resolve(message, intents, turns)
    assert "item" not in resolved.hints
    assert resolved.intents == ()


def test_a_noun_is_no_reply_to_the_district_question(reader: TopicReader) -> None:
    assert not reader.answers_where("고양이")
    assert reader.answers_where("강남역이요")


def test_a_district_that_only_the_position_gave_is_not_remembered(reader: TopicReader) -> None:
    located = SubagentResult(
        "collection_point",
        ResultStatus.OK,
        data={"district": "서울특별시 강남구", "district_from": "user_location", "kind": "폐휴대폰"},
    )
    assert "district" not in reader.topic("폐휴대폰 수거함", ["collection_point"], {}, {"collection_point": located})
    named = SubagentResult(
        "collection_point", ResultStatus.OK, data={"district": "서울특별시 강남구", "district_from": "message"}
    )
    assert reader.topic("강남구 수거함", ["collection_point"], {}, {"collection_point": named})["district"] == (
        "서울특별시 강남구"
    )


def test_a_failing_resolver_does_not_fail_the_chat() -> None:
    import json
    import uuid

    from eco2.bootstrap import bootstrap_inline
    from eco2.config import Settings

    class Broken(TopicReader):
        def resolve(self, message: str, intents: object, turns: object) -> Resolution:
            raise RuntimeError("resolver bug")

        def topic(self, *args: object, **kwargs: object) -> dict[str, str]:
            raise RuntimeError("resolver bug")

    ends: list[dict[str, str]] = []
    container, _ = bootstrap_inline(
        Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}),
        listener=lambda _job, fields: ends.append(fields) if fields.get("type") in {"done", "error"} else None,
        topics=Broken(),
    )
    session = uuid.uuid4().hex
    for message in ("페트병 어떻게 버려?", "그거 씻어야 돼?"):
        container.service.accept((), {"job_id": uuid.uuid4().hex, "message": message, "session_id": session})
    assert [end["type"] for end in ends] == ["done", "done"]
    assert "페트병" in json.loads(ends[0]["data"])["answer"] or "생수병" in json.loads(ends[0]["data"])["answer"]
