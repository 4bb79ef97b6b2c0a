"""``LiveRenderer``: what ``eco2 chat`` and ``eco2 demo`` print for a job's stream entries, as they arrive."""

from __future__ import annotations

import io
import json

from eco2.cli.render import ONE_PIECE_NOTE, LiveRenderer

T0 = 1_800_000_000_000


def stage(stage: str, status: str, ts: int = T0, intent: str = "") -> dict[str, str]:
    fields = {"type": "stage", "stage": stage, "status": status, "ts": str(ts)}
    if intent:
        fields["intent"] = intent
    return fields


def token(delta: str, ts: int = T0) -> dict[str, str]:
    return {"type": "token", "node": "answer", "delta": delta, "ts": str(ts)}


def done(answer: str, ts: int = T0, intent: str = "waste") -> dict[str, str]:
    return {"type": "done", "ts": str(ts), "data": json.dumps({"answer": answer, "intent": intent})}


def renderer(tty: bool = False, quiet: bool = False) -> tuple[LiveRenderer, io.StringIO]:
    """A renderer writing stdout and stderr into one buffer, so the order across the two shows."""
    both = io.StringIO()
    return LiveRenderer("job-1", out=both, err=both, quiet=quiet, tty=tty), both


STAGES_BEFORE_THE_ANSWER = [
    stage("intent", "started"),
    stage("intent", "completed", intent="waste"),
    stage("waste_rag", "started"),
    stage("waste_rag", "completed"),
    stage("weather", "started"),
    stage("weather", "skipped"),
    stage("answer", "started"),
]


def test_each_stage_is_shown_when_its_entry_arrives_with_the_intent() -> None:
    shown, both = renderer()
    seen = []
    for fields in STAGES_BEFORE_THE_ANSWER:
        shown.apply(fields)
        seen.append(both.getvalue().splitlines()[-1])
    assert seen == [
        "· intent …",
        "· intent ✓ waste",
        "· waste_rag …",
        "· waste_rag ✓",
        "· weather …",
        "· weather – skipped",
        "· answer …",
    ]
    assert shown.outcome.intent == "waste"  # known before the answer, not only from done


def test_on_a_terminal_a_stage_ends_on_its_started_line() -> None:
    shown, both = renderer(tty=True)
    shown.apply(stage("intent", "started"))
    assert both.getvalue() == "· intent …"  # open: its end comes on this line
    shown.apply(stage("intent", "completed", intent="waste"))
    assert both.getvalue() == "· intent … ✓ waste\n"
    for fields in STAGES_BEFORE_THE_ANSWER[2:]:
        shown.apply(fields)
    shown.apply(token("분리배출 방법을 알려드릴게요.\n"))
    assert both.getvalue().splitlines() == [
        "· intent … ✓ waste",
        "· waste_rag … ✓",
        "· weather … – skipped",
        "· answer …",
        "분리배출 방법을 알려드릴게요.",
    ]


def test_on_a_terminal_stages_running_side_by_side_each_end_on_a_line() -> None:
    shown, both = renderer(tty=True)
    for fields in [
        stage("waste_rag", "started"),
        stage("location", "started"),
        stage("waste_rag", "completed"),
        stage("location", "failed"),
    ]:
        shown.apply(fields)
    assert both.getvalue().splitlines() == ["· waste_rag …", "· location …", "· waste_rag ✓", "· location ✗ failed"]


def test_an_answer_in_one_entry_gets_the_ready_at_once_note_after_it() -> None:
    text = "분리배출 방법을 알려드릴게요.\n\n[생수병] 무색 페트병 → 투명 페트병 전용 수거함"
    shown, both = renderer()
    for fields in [*STAGES_BEFORE_THE_ANSWER, token(text), stage("answer", "completed"), done(text)]:
        shown.apply(fields)
    assert both.getvalue().endswith(f"{text}\n· answer ✓\n{ONE_PIECE_NOTE}\n")
    assert shown.outcome.ready_at_once
    assert shown.outcome.answer == text


def test_an_answer_whose_pieces_were_written_together_gets_the_note() -> None:
    # --inline: the in-memory stream does not merge tokens, but they were all ready within a millisecond
    pieces = ["페트병은 ", "라벨을 ", "떼고 ", "버려요."]
    shown, both = renderer()
    for fields in [*(token(piece, ts=T0 + (i > 1)) for i, piece in enumerate(pieces)), done("".join(pieces))]:
        shown.apply(fields)
    assert both.getvalue() == f"페트병은 라벨을 떼고 버려요.\n{ONE_PIECE_NOTE}\n"


def test_a_streamed_answer_gets_no_note() -> None:
    pieces = ["페트병은 ", "라벨을 ", "떼고 ", "버려요."]
    shown, both = renderer()
    shown.apply(stage("answer", "started"))
    for i, piece in enumerate(pieces):
        shown.apply(token(piece, ts=T0 + 40 * i))
        assert both.getvalue().endswith(piece)  # each piece shows when it arrives
    shown.apply(stage("answer", "completed", ts=T0 + 130))
    shown.apply(done("".join(pieces), ts=T0 + 130))
    assert both.getvalue() == "· answer …\n페트병은 라벨을 떼고 버려요.\n· answer ✓\n"
    assert not shown.outcome.ready_at_once


def test_only_the_answer_after_a_reset_is_judged() -> None:
    shown, both = renderer()
    shown.apply(token("페트병은 ", ts=T0))
    shown.apply({"type": "reset", "ts": str(T0 + 5000)})
    shown.apply(token("페트병은 라벨을 떼고 버려요.", ts=T0 + 5100))
    shown.apply(done("페트병은 라벨을 떼고 버려요.", ts=T0 + 5100))
    assert both.getvalue().endswith(f"페트병은 라벨을 떼고 버려요.\n{ONE_PIECE_NOTE}\n")


def test_an_error_gets_no_note() -> None:
    shown, both = renderer()
    shown.apply(token("페트병은 "))
    shown.apply({"type": "error", "ts": str(T0), "data": json.dumps({"code": "timeout", "message": "too slow"})})
    assert both.getvalue() == "페트병은 \n[error] timeout: too slow\n"
    assert shown.outcome.status == "error"


def test_quiet_prints_nothing_and_still_keeps_the_outcome() -> None:
    text = "페트병은 라벨을 떼고 버려요."
    shown, both = renderer(tty=True, quiet=True)
    for fields in [*STAGES_BEFORE_THE_ANSWER, token(text), stage("answer", "completed"), done(text)]:
        shown.apply(fields)
    assert both.getvalue() == ""
    assert (shown.outcome.status, shown.outcome.intent, shown.outcome.answer) == ("done", "waste", text)
