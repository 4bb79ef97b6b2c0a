"""How a round goes out: unconfigured subagents answer in process, one subagent is a linked task, several a chord.

The Celery side is checked on a real Celery app over kombu's in-memory transport: the messages a broker would
carry, with their callbacks, are read back from the queues.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Celery
from kombu import Queue
from langgraph.checkpoint.memory import InMemorySaver

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.memory.sessions import MemorySessionQueue
from eco2.bootstrap import bootstrap
from eco2.config import Settings
from eco2.dispatch.celery_canvas import TASK_CONTINUE, TASK_ROUND_FAILED, CeleryRounds
from eco2.domain.subagents import SubagentQuery
from eco2.ports.dispatch import JobRef
from tests.fakes import KeywordClassifier, all_subagents, not_configured, scheduling_of


class Recording:
    """A dispatcher that records each round instead of sending it."""

    synchronous = False

    def __init__(self) -> None:
        self.rounds: list[tuple[int, list[str], list[dict[str, Any]]]] = []

    def fan_out(
        self,
        job: JobRef,
        round_no: int,
        subagents: Sequence[str],
        query: SubagentQuery,
        ready: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.rounds.append((round_no, list(subagents), [dict(r) for r in ready]))

    def schedule_deadline(self, *a: Any) -> None: ...
    def cancel_deadline(self, *a: Any) -> None: ...
    def enqueue_chat(self, *a: Any) -> None: ...
    def close_trace(self, *a: Any) -> None: ...


def test_an_unconfigured_subagent_answers_in_process_and_travels_with_the_round() -> None:
    dispatcher, events = Recording(), MemoryEvents()
    container = bootstrap(
        Settings.from_env({}),
        scheduling=scheduling_of(dispatcher),
        events=events,
        sessions=MemorySessionQueue(),
        classifier=KeywordClassifier(),
        subagents=all_subagents(weather=not_configured("weather")),
        checkpointer=InMemorySaver(),
    )
    assert container.service.accept((), {"job_id": "r1", "message": "페트병 어떻게 버려?"}) == "started"
    ((round_no, remote, ready),) = dispatcher.rounds
    assert remote == ["waste_rag"]  # weather needs no task: it could only say "not configured"
    assert [(r["name"], r["status"]) for r in ready] == [("weather", "not_configured")]
    job = JobRef("r1", "job:r1")
    waste = {"name": "waste_rag", "status": "ok", "summary": "투명 페트병은 라벨을 떼고"}
    assert container.service.resume(job, round_no, [waste, *ready]) == "done"
    (last,) = [fields for _id, fields in events.follow("r1", timeout_s=2) if fields["type"] == "done"]
    assert json.loads(last["data"])["subagents"] == {"waste_rag": "ok", "weather": "not_configured"}


def app_and_messages() -> tuple[Celery, CeleryRounds]:
    app = Celery("t", broker="memory://", backend="cache+memory://")
    app.conf.task_queues = [Queue(q, routing_key=q) for q in ("eco2.chat", "eco2.io", "eco2.cpu")]
    return app, CeleryRounds(app)


def drain(app: Celery, queue: str) -> list[tuple[dict[str, Any], list[Any]]]:
    """Every message on ``queue``: its headers and its decoded protocol-2 body (args, kwargs, embed)."""
    found = []
    with app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                break
            body = message.body
            if isinstance(body, str) and message.properties.get("body_encoding") == "base64":
                body = base64.b64decode(body)
            found.append((message.headers, json.loads(body) if isinstance(body, bytes | str) else body))
            message.ack()
        simple.close()
    return found


QUERY = SubagentQuery.from_dict({"job_id": "c1", "message": "페트병", "intents": ["waste"]})
JOB = JobRef("c1", "job:c1")
READY = [{"name": "weather", "status": "not_configured"}]


def test_one_subagent_is_a_task_with_the_continuation_linked_and_no_stored_result() -> None:
    app, dispatcher = app_and_messages()
    dispatcher.fan_out(JOB, 1, ["waste_rag"], QUERY, READY)
    ((headers, (_args, _kwargs, embed)),) = drain(app, "eco2.cpu")
    assert headers["task"] == "eco2.subagent.waste_rag"
    assert headers["ignore_result"] is True
    assert embed["chord"] is None
    (callback,) = embed["callbacks"]
    assert callback["task"] == TASK_CONTINUE
    assert callback["kwargs"]["ready"] == READY
    (errback,) = embed["errbacks"]
    assert errback["task"] == TASK_ROUND_FAILED
    assert errback["kwargs"]["subagents"] == ["waste_rag"]
    assert errback["kwargs"]["ready"] == READY
    assert drain(app, "eco2.chat") == []


def test_several_subagents_are_a_chord_whose_body_carries_the_ready_results() -> None:
    app, dispatcher = app_and_messages()
    dispatcher.fan_out(JOB, 1, ["waste_rag", "weather"], QUERY, ())
    sent = drain(app, "eco2.cpu") + drain(app, "eco2.io")
    assert sorted(h["task"] for h, _ in sent) == ["eco2.subagent.waste_rag", "eco2.subagent.weather"]
    for _headers, (_args, _kwargs, embed) in sent:
        assert embed["chord"]["task"] == TASK_CONTINUE
        assert embed["chord"]["kwargs"]["ready"] == []


def test_a_round_with_nothing_to_run_is_the_continuation_alone() -> None:
    app, dispatcher = app_and_messages()
    dispatcher.fan_out(JOB, 2, [], QUERY, READY)
    ((headers, (args, kwargs, _embed)),) = drain(app, "eco2.chat")
    assert headers["task"] == TASK_CONTINUE
    assert args == [[]]
    assert kwargs["ready"] == READY
    assert kwargs["round_no"] == 2
