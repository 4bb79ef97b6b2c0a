"""The chat service end to end in one process (inline dispatcher, in-memory adapters, fakes).

The same service runs inside Celery workers; integration tests cover that path with real processes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from eco2.adapters.memory.events import MemoryEvents
from eco2.bootstrap import Container, bootstrap_inline
from eco2.config import Settings
from eco2.domain import registry
from eco2.domain.events import JobStatus
from eco2.domain.subagents import FailMode, ResultStatus, SubagentResult
from eco2.errors import PermanentError, RetryableError
from eco2.ports.dispatch import JobRef
from tests.fakes import KeywordClassifier, ListWriter, ScriptedSubagent, all_subagents, raises, service_on, status


def build(**overrides: Any) -> tuple[Container, MemoryEvents]:
    settings = overrides.pop("settings", Settings.from_env({"ECO2_HISTORY_TURNS": "2"}))
    overrides.setdefault("classifier", KeywordClassifier())
    overrides.setdefault("subagents", all_subagents())
    container, events = bootstrap_inline(settings, **overrides)
    return container, events


def entries(events: MemoryEvents, job_id: str) -> list[dict[str, str]]:
    return [fields for _id, fields in events.follow(job_id, timeout_s=2)]


def done_data(events: MemoryEvents, job_id: str) -> dict[str, Any]:
    last = entries(events, job_id)[-1]
    assert last["type"] == "done", last
    data: dict[str, Any] = json.loads(last["data"])
    return data


class Parked:
    """A dispatcher that sends nothing: the graph stops at its interrupt and the test resumes it by hand."""

    synchronous = False

    def fan_out(self, *a: Any) -> None: ...
    def schedule_deadline(self, *a: Any) -> None: ...
    def cancel_deadline(self, *a: Any) -> None: ...
    def enqueue_chat(self, *a: Any) -> None: ...


def test_waste_question_fans_out_to_waste_rag_and_weather() -> None:
    subs = all_subagents()
    container, events = build(subagents=subs)
    assert container.service.accept((), {"job_id": "j1", "message": "페트병 어떻게 버려?"}) == "started"
    data = done_data(events, "j1")
    assert data["intent"] == "waste"
    assert data["subagents"] == {"waste_rag": "ok", "weather": "ok"}
    assert "waste_rag 결과" in data["answer"]
    assert data["partial"] is False
    assert {"title": "waste_rag", "url": ""} in data["sources"]


def test_stage_events_cover_every_step() -> None:
    container, events = build()
    container.service.accept((), {"job_id": "j1", "message": "페트병"})
    stages = [(e["stage"], e["status"]) for e in entries(events, "j1") if e["type"] == "stage"]
    for stage in ("intent", "waste_rag", "weather", "answer"):
        assert (stage, "started") in stages
        assert (stage, "completed") in stages


def test_weak_rag_takes_the_fallback_chain_to_general() -> None:
    subs = all_subagents(
        waste_rag=ScriptedSubagent("waste_rag", status("waste_rag", ResultStatus.WEAK)),
        web_search=ScriptedSubagent("web_search", status("web_search", ResultStatus.EMPTY)),
    )
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j1", "message": "양자 쓰레기"})
    data = done_data(events, "j1")
    assert data["fallbacks"] == ["waste_rag->web_search", "web_search->general"]
    assert data["subagents"]["general"] == "ok"
    assert data["partial"] is False  # general covered the chain


def test_failed_open_subagent_gives_a_partial_answer_that_says_what_is_missing() -> None:
    subs = all_subagents(location=ScriptedSubagent("location", raises(PermanentError("HTTP 401"))))
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j1", "message": "근처 재활용센터"})
    data = done_data(events, "j1")
    assert data["partial"] is True
    assert data["subagents"]["location"] == "failed"
    assert "장소 검색" in data["answer"]
    assert "담지 못했어요" in data["answer"]


def test_unavailable_bulk_waste_api_falls_back_to_the_waste_rules() -> None:
    subs = all_subagents(bulk_waste=ScriptedSubagent("bulk_waste", raises(PermanentError("HTTP 401"))))
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j1", "message": "소파 버려"})
    data = done_data(events, "j1")
    assert data["fallbacks"] == ["bulk_waste->waste_rag"]
    assert data["partial"] is False
    assert "waste_rag 결과" in data["answer"]


def test_closed_fail_mode_ends_the_job_with_an_error() -> None:
    closed = dataclasses.replace(registry.spec_for("bulk_waste"), fail_mode=FailMode.CLOSED)
    subs = all_subagents(bulk_waste=ScriptedSubagent("bulk_waste", raises(PermanentError("down"))))
    with registry.REGISTRY.including(closed):
        container, events = build(subagents=subs)
        container.service.accept((), {"job_id": "j1", "message": "소파"})
    last = entries(events, "j1")[-1]
    assert last["type"] == "error"
    assert json.loads(last["data"])["code"] == "subagent_failed"


def test_unexpected_subagent_crash_is_contained() -> None:
    subs = all_subagents(weather=ScriptedSubagent("weather", raises(ZeroDivisionError())))
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j1", "message": "페트병"})
    data = done_data(events, "j1")
    assert data["subagents"]["weather"] == "failed"


def test_model_failure_mid_answer_resets_and_composes_offline() -> None:
    writer = ListWriter(["모델이 ", "쓰다가 ", "끊김"], fail_after=2)
    container, events = build(writer=writer)
    container.service.accept((), {"job_id": "j1", "message": "페트병"})
    log = entries(events, "j1")
    types = [e["type"] for e in log]
    assert "reset" in types
    after_reset = "".join(e.get("delta", "") for e in log[types.index("reset") :] if e["type"] == "token")
    data = json.loads(log[-1]["data"])
    assert data["answer"] == after_reset
    assert "모델이" not in data["answer"]
    assert data["provider"]["answer"] == "offline"


def test_llm_answer_is_used_when_it_works() -> None:
    writer = ListWriter(["모델 ", "답변"])
    container, events = build(writer=writer)
    container.service.accept((), {"job_id": "j1", "message": "페트병"})
    assert done_data(events, "j1")["answer"] == "모델 답변"
    assert [r.name for r in writer.inputs[0].results] == ["waste_rag", "weather"]


def test_follow_up_uses_session_history() -> None:
    classifier = KeywordClassifier()
    container, events = build(classifier=classifier)
    container.service.accept((), {"job_id": "a", "message": "페트병 어떻게 버려?", "session_id": "s"})
    container.service.accept((), {"job_id": "b", "message": "그럼 이건?", "session_id": "s"})
    assert done_data(events, "b")["intent"] == "waste"
    assert classifier.seen_history[-1] == ["페트병 어떻게 버려?"]


def test_session_memory_stays_bounded() -> None:
    container, _ = build()  # ECO2_HISTORY_TURNS=2
    for n in range(6):
        container.service.accept((), {"job_id": f"t{n}", "message": f"질문 {n} 페트", "session_id": "s"})
    state = container.graph.get_state({"configurable": {"thread_id": "s"}}).values
    assert [t["user"] for t in state["turns"]] == ["질문 4 페트", "질문 5 페트"]
    assert "질문 0 페트" in state["summary"]
    assert "질문 3 페트" in state["summary"]


def test_sessions_do_not_share_memory() -> None:
    classifier = KeywordClassifier()
    container, _ = build(classifier=classifier)
    container.service.accept((), {"job_id": "a", "message": "페트병", "session_id": "s1"})
    container.service.accept((), {"job_id": "b", "message": "안녕", "session_id": "s2"})
    assert classifier.seen_history[-1] == []


def test_bad_input_gets_an_error_event_and_the_next_job_still_works() -> None:
    container, events = build()
    assert container.service.accept((), {"job_id": "bad", "message": ""}) == "rejected"
    assert json.loads(entries(events, "bad")[-1]["data"])["code"] == "empty_message"
    assert container.service.accept((), {"message": "no id"}) == "rejected"
    assert events.rejected[-1]["code"] == "missing_job_id"
    container.service.accept((), {"job_id": "good", "message": "페트병"})
    assert done_data(events, "good")["intent"] == "waste"


def test_reused_job_id_of_a_finished_job_is_rejected() -> None:
    container, events = build()
    container.service.accept((), {"job_id": "j", "message": "페트병"})
    assert container.service.accept((), {"job_id": "j", "message": "again"}) == "rejected"
    assert events.rejected[-1]["code"] == "duplicate_job_id"
    assert [e["type"] for e in entries(events, "j")].count("done") == 1


def test_stale_continuation_is_ignored() -> None:
    container, events = build()
    container.service.accept((), {"job_id": "j", "message": "페트병"})
    job = JobRef("j", "job:j")
    assert container.service.resume(job, 1, []) == "stale"
    assert [e["type"] for e in entries(events, "j")].count("done") == 1


def test_expired_job_gets_one_timeout_error() -> None:
    container, events = build()
    writer = events.open("slow")
    writer.stage("intent", __import__("eco2.domain.events", fromlist=["StageStatus"]).StageStatus.STARTED)
    assert container.service.expire(JobRef("slow", "job:slow")) == "expired"
    assert container.service.expire(JobRef("slow", "job:slow")) == "finished"
    last = entries(events, "slow")[-1]
    assert json.loads(last["data"])["code"] == "timeout"


def test_round_failed_continues_without_the_round() -> None:
    container, events = build()
    # Drive the graph to the first interrupt by hand: accept with a dispatcher that does nothing.

    service = service_on(container, events, Parked())
    service.accept((), {"job_id": "j", "message": "페트병"})
    job = JobRef("j", "job:j")
    assert service.round_failed(job, 1, ["waste_rag", "weather"], "TimeLimitExceeded") == "dispatched"
    web = {"name": "web_search", "status": "ok", "summary": "웹 결과"}
    assert service.resume(job, 2, [web]) == "done"
    data = done_data(events, "j")
    assert data["subagents"] == {"waste_rag": "failed", "weather": "failed", "web_search": "ok"}
    assert data["fallbacks"] == ["waste_rag->web_search"]


def test_a_continuation_of_a_job_that_already_ended_never_calls_the_model() -> None:
    writer = ListWriter()
    container, events = build(writer=writer)

    service = service_on(container, events, Parked())
    service.accept((), {"job_id": "ended", "message": "페트병"})  # the checkpoint now waits for round 1
    job = JobRef("ended", "job:ended")
    assert service.expire(job) == "expired"  # its deadline passed while the round was lost
    waste = {"name": "waste_rag", "status": "ok", "summary": "규칙"}
    assert service.resume(job, 1, [waste]) == "stale"  # e.g. the round's message, redelivered late
    # A round's first delivery well within the deadline asks too: the job may have been cancelled meanwhile.
    service.accept((), {"job_id": "cancelled", "message": "페트병"})
    assert service.cancel("cancelled") == "cancelled"
    fresh = dataclasses.replace(JobRef("cancelled", "job:cancelled"), accepted_at=time.time())
    assert service.resume(fresh, 1, [waste]) == "stale"
    assert writer.inputs == []


def test_retryable_error_on_the_last_attempt_is_a_failed_result() -> None:
    subs = all_subagents(weather=ScriptedSubagent("weather", raises(RetryableError("503"))))
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j", "message": "오늘 날씨"})
    data = done_data(events, "j")
    assert data["subagents"]["weather"] == "failed"
    assert data["partial"] is True


def test_an_empty_result_with_advice_is_shown() -> None:
    advice = "근처 수거함은 찾지 못했어요. 폐건전지는 주민센터 수거함에 넣으면 돼요."
    subs = all_subagents(
        location=ScriptedSubagent(
            "location",
            lambda q: SubagentResult("location", ResultStatus.EMPTY, summary=advice),
        )
    )
    container, events = build(subagents=subs)
    container.service.accept((), {"job_id": "j1", "message": "근처 폐건전지"})
    assert advice in done_data(events, "j1")["answer"]


def test_a_timed_out_job_keeps_its_timeout_in_the_trace_when_the_answer_finishes_late() -> None:
    """The deadline closes the root run as a timeout; the late answer must not close it again as a success."""
    from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
    from eco2.orchestrator.service import ChatService

    root = "20250101T000000000000Z" + "0" * 32

    class RecordingTelemetry(NoOpTelemetryConfig):
        def __init__(self) -> None:
            self.ended: list[tuple[str, dict[str, Any], str | None]] = []

        def is_enabled(self) -> bool:
            return True

        def start_trace(self, config: Any, inputs: Any) -> str | None:
            return root

        def end_trace(self, root: str, config: Any, outputs: Any, error: str | None = None) -> None:
            self.ended.append((root, dict(outputs), error))

    class ParkedThenTracing(Parked):
        """Parks the round (the test resumes it by hand); closes traces through the service, like Celery."""

        service: ChatService

        def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
            self.service.close_trace(job, outcome, error)

    container, events = build()
    telemetry, dispatcher = RecordingTelemetry(), ParkedThenTracing()
    service = service_on(container, events, dispatcher, telemetry)
    dispatcher.service = service
    service.accept((), {"job_id": "late", "message": "페트병"})
    job = JobRef("late", "job:late", root_run=root)
    assert service.expire(job) == "expired"
    assert [(outputs["outcome"], error is not None) for _, outputs, error in telemetry.ended] == [("timeout", True)]
    ok = [{"name": n, "status": "ok", "summary": f"{n} 결과"} for n in ("waste_rag", "weather")]
    service.resume(job, 1, ok)  # the answer arrives after the deadline: the job has already ended
    assert [outputs["outcome"] for _, outputs, _ in telemetry.ended] == ["timeout"]
    assert entries(events, "late")[-1]["type"] == "error"


def test_a_continuation_retried_after_a_stream_error_while_answering_finishes_the_job() -> None:
    """The task layer retries on ``StreamError``; the retry must run the failed step, not call itself stale."""
    from eco2.errors import StreamError

    class FirstDoneFails:
        """The job's stream refuses the first ``done`` (Redis went away for a moment)."""

        def __init__(self, events: MemoryEvents) -> None:
            self.events, self.failed = events, False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.events, name)

        def open(self, job_id: str, traceparent: str | None = None) -> Any:
            writer, outer = self.events.open(job_id, traceparent), self

            class Writer:
                def __getattr__(self, name: str) -> Any:
                    return getattr(writer, name)

                def done(self, data: Any) -> bool:
                    if not outer.failed:
                        outer.failed = True
                        raise StreamError("event stream write failed: connection reset")
                    return writer.done(data)

            return Writer()

    container, events = build()
    flaky = FirstDoneFails(events)
    service = service_on(container, flaky, Parked())
    service.accept((), {"job_id": "j", "message": "페트병"})
    job = JobRef("j", "job:j")
    ok = [{"name": n, "status": "ok", "summary": f"{n} 결과"} for n in ("waste_rag", "weather")]
    with pytest.raises(StreamError):
        service.resume(job, 1, ok)
    assert service.resume(job, 1, ok) == "done"  # the Celery retry of the same continuation
    types = [e["type"] for e in entries(events, "j")]
    assert types.count("done") == 1
    assert "reset" in types  # the first attempt's tokens are withdrawn before the second answer
    assert "waste_rag 결과" in done_data(events, "j")["answer"]
    assert service.resume(job, 1, ok) == "stale"


def test_a_continuation_that_overtakes_the_checkpoint_is_told_to_retry_and_stale_ones_are_not() -> None:
    """Rounds go out before LangGraph saves the checkpoint; a continuation that comes first must retry."""
    from eco2.errors import ContinuationEarlyError
    from eco2.orchestrator.service import ChatService

    ok = [{"name": n, "status": "ok", "summary": f"{n} 결과"} for n in ("waste_rag", "weather")]
    overtaking: list[BaseException] = []

    class Overtaking(Parked):
        service: ChatService

        def fan_out(self, job: JobRef, round_no: int, *a: Any) -> None:
            try:
                self.service.resume(job, round_no, ok)  # arrives while the checkpoint is not saved yet
            except ContinuationEarlyError as exc:
                overtaking.append(exc)

    container, events = build()
    dispatcher = Overtaking()
    service = service_on(container, events, dispatcher)
    dispatcher.service = service
    assert service.accept((), {"job_id": "j", "message": "페트병"}) == "started"
    assert len(overtaking) == 1
    job = JobRef("j", "job:j")
    with pytest.raises(ContinuationEarlyError):
        service.resume(job, 2, ok)  # a later round than the saved one: its checkpoint is still coming
    assert service.resume(job, 1, ok) == "done"  # the retry, once the checkpoint is there
    assert done_data(events, "j")["subagents"] == {"waste_rag": "ok", "weather": "ok"}
    assert service.resume(job, 1, ok) == "stale"  # the job has ended: nothing to wait for


class Recording(Parked):
    """Parked, and records the session jobs it is asked to start (promoted after a predecessor ended)."""

    def __init__(self) -> None:
        self.started: list[tuple[dict[str, Any], str]] = []

    def enqueue_chat(self, kwargs: Any, message_id: str) -> None:
        self.started.append((dict(kwargs), message_id))


def _busy_session(strategy: str) -> tuple[Any, MemoryEvents, Recording, ListWriter]:
    """Job ``a`` of session ``s`` holds the session, paused for its round; ``b`` arrives with ``strategy``."""

    writer = ListWriter()
    container, events = build(writer=writer)
    dispatcher = Recording()
    service = service_on(container, events, dispatcher)
    assert service.accept((), {"job_id": "a", "message": "유리병 버리는 법", "session_id": "s"}) == "started"
    return service, events, dispatcher, writer


def test_a_rejecting_second_message_ends_at_once_and_the_first_goes_on() -> None:
    service, events, _dispatcher, _writer = _busy_session("reject")
    kwargs = {"job_id": "b", "message": "캔은?", "session_id": "s", "multitask_strategy": "reject"}
    assert service.accept((), kwargs) == "rejected"
    last = entries(events, "b")[-1]
    assert json.loads(last["data"])["code"] == "session_busy"
    assert events.status("a") is not JobStatus.ERROR  # untouched
    waste = {"name": "waste_rag", "status": "ok", "summary": "규칙"}
    service.resume(JobRef("a", "s", session_id="s"), 1, [waste])
    assert entries(events, "a")[-1]["type"] == "done"


@pytest.mark.parametrize(("strategy", "remembered"), [("interrupt", True), ("rollback", False)])
def test_an_interrupting_message_cancels_the_running_job_and_runs_next(strategy: str, remembered: bool) -> None:
    service, events, dispatcher, writer = _busy_session(strategy)
    kwargs = {"job_id": "b", "message": "아니 캔은?", "session_id": "s", "multitask_strategy": strategy}
    assert service.accept((), kwargs) == "queued"
    end = entries(events, "a")[-1]
    assert json.loads(end["data"])["code"] == "cancelled"
    # a's round comes back: a stops without calling the model and hands the session to b.
    waste = {"name": "waste_rag", "status": "ok", "summary": "규칙"}
    assert service.resume(JobRef("a", "s", session_id="s"), 1, [waste]) == "stale"
    assert writer.inputs == []
    assert [k["job_id"] for k, _message in dispatcher.started] == ["b"]
    promoted, message_id = dispatcher.started[0]
    assert service.accept((), promoted, message_id=message_id) == "started"
    service.resume(JobRef("b", "s", session_id="s"), 1, [waste])
    assert entries(events, "b")[-1]["type"] == "done"
    history = [turn.user for turn in writer.inputs[-1].history]
    assert ("유리병 버리는 법" in history) is remembered  # interrupt keeps the turn, rollback leaves no trace
