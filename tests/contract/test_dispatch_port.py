"""The scheduling ports of eco2/ports/dispatch.py, each run against its in-process and its Celery/Redis adapter.

- ``FanOutPort``: ``InlineRounds`` and ``CeleryRounds``;
- ``DeadlinePort``: ``InlineDeadlines`` and ``RedisDeadlines``;
- ``ChatQueuePort``: ``InlineChatQueue`` and ``CeleryChatQueue``;
- ``TraceCloserPort``: ``InlineTraceCloser`` and ``CeleryTraceCloser``.

The Celery adapters only send messages, so their promises hold together with the tasks that receive them:
here an embedded Celery worker (a thread, with the test redis as broker and result backend) consumes the
three eco2 queues and runs the real bodies of the chat and subagent tasks (``tasks/chat.py``,
``tasks/subagents.py``), whose container is swapped for one whose chat service records what reaches it. A
message sent to a queue no eco2 worker consumes, or under a name no task has, is never delivered, and the
test waiting for it fails. Redis deadlines need a worker's main process too: its deadline sweeper
(``tasks/sweeper.py``), run here by hand; the in-process timers fire by themselves.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from celery import Celery, signals
from celery.contrib.testing.worker import start_worker
from celery.exceptions import CDeprecationWarning
from kombu import Queue

from eco2.adapters.memory.events import MemoryEvents
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.adapters.redis_streams.deadlines import RedisDeadlines
from eco2.dispatch.celery_canvas import CeleryChatQueue, CeleryRounds, CeleryTraceCloser
from eco2.dispatch.inline import InlineChatQueue, InlineDeadlines, InlineRounds, InlineTraceCloser, ServiceHandle
from eco2.domain.registry import ALL_QUEUES
from eco2.domain.subagents import SubagentQuery, SubagentResult
from eco2.ports.dispatch import ChatQueuePort, DeadlinePort, FanOutPort, JobRef, TraceCloserPort
from eco2.subagents.runner import SubagentRunner
from tests.contract.conftest import implementation
from tests.fakes import ScriptedSubagent, all_subagents

SLOW_S = 0.3
"""How long the slow subagent of a round takes (it is listed first, so it finishes last)."""


class RecordingService:
    """The chat service's side of the scheduling ports: records what reaches it, from whichever thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = threading.Condition()

    def _record(self, kind: str, *args: Any) -> str:
        with self._changed:
            self.calls.append((kind, args))
            self._changed.notify_all()
        return "recorded"

    def accept(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        traceparent: str | None = None,
        message_id: str | None = None,
    ) -> str:
        return self._record("accept", tuple(args), dict(kwargs), message_id)

    def resume(self, job: JobRef, round_no: int, results: Sequence[Mapping[str, Any]]) -> str:
        return self._record("resume", job, round_no, [dict(r) for r in results])

    def round_failed(
        self, job: JobRef, round_no: int, subagents: Sequence[str], reason: str, ready: Sequence[Mapping[str, Any]]
    ) -> str:
        return self._record("round_failed", job, round_no, list(subagents), reason)

    def expire(self, job: JobRef) -> str:
        return self._record("expire", job)

    def close_trace(self, job: JobRef, outcome: str, error: str) -> str:
        return self._record("close_trace", job, outcome, error)

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        with self._changed:
            return [args for k, args in self.calls if k == kind]

    def wait_for(self, kind: str, count: int = 1, timeout_s: float = 10.0) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(found := [args for k, args in self.calls if k == kind]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} {kind} call(s) expected, got {self.calls}")
                self._changed.wait(left)
            return found


@dataclass
class Container:
    """What the task bodies take from ``tasks.runtime.container()``."""

    service: RecordingService
    runner: SubagentRunner


@pytest.fixture
def service() -> RecordingService:
    return RecordingService()


@pytest.fixture
def handle(service: RecordingService) -> ServiceHandle:
    """What the in-process adapters continue jobs with (the composition root points it at the service)."""
    handle = ServiceHandle()
    handle.point_at(service)
    return handle


@pytest.fixture
def runner() -> SubagentRunner:
    subagents = all_subagents(weather=ScriptedSubagent("weather", delay_s=SLOW_S))
    return SubagentRunner(
        subagents,  # type: ignore[arg-type]
        MemoryEvents(),
        metrics=NoOpMetricsAdapter(),
        telemetry=NoOpTelemetryConfig(),
    )


@pytest.fixture
def prefix() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}"


# -- the Celery side: an embedded worker running the real task bodies ------------------------------------------
_WORKER_SIGNALS = [
    getattr(signals, name)
    for name in dir(signals)
    if name.startswith(("worker_", "celeryd_", "heartbeat_")) and isinstance(getattr(signals, name), signals.Signal)
]


@contextlib.contextmanager
def quiet_worker_signals() -> Iterator[None]:
    """Keep handlers of a real worker (``tasks/signals.py`` starts a sweeper, a heartbeat, a metrics host)
    from running for the embedded one, should some test of this process have imported them."""
    saved = [(signal, list(signal.receivers)) for signal in _WORKER_SIGNALS]
    for signal, _ in saved:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


@pytest.fixture(scope="module")
def celery_app(module_redis_url: str) -> Iterator[Celery]:
    import tasks.chat
    import tasks.subagents

    # Results (chord counting) in this process's memory: the worker is a thread of it, and no result listener
    # is left subscribed to a redis-server that stops before the interpreter does.
    app = Celery("eco2-contract", broker=module_redis_url, backend="cache+memory://", set_as_current=False)
    app.conf.task_queues = [Queue(q.value, routing_key=q.value) for q in ALL_QUEUES]
    app.conf.broker_transport_options = {"polling_interval": 0.01}
    real = [tasks.chat.process, tasks.chat.continue_job, tasks.chat.round_failed, tasks.chat.close_trace]
    with warnings.catch_warnings():
        # Building from the real tasks warns that their ``queue`` option is deprecated: tasks/, not this suite.
        warnings.simplefilter("ignore", CDeprecationWarning)
        for task in [*real, *tasks.subagents.TASKS.values()]:
            # The task's own function under its own name; queues are the adapter's to name.
            app.task(name=task.name, bind=True)(task.__wrapped__.__func__)
        app.finalize()
    with (
        quiet_worker_signals(),
        start_worker(app, pool="threads", concurrency=8, perform_ping_check=False, loglevel="WARNING"),
    ):
        yield app


@pytest.fixture
def worker_app(
    celery_app: Celery, service: RecordingService, runner: SubagentRunner, monkeypatch: pytest.MonkeyPatch
) -> Celery:
    """The embedded worker's app, its task bodies pointed at this test's recording service (restored after)."""
    from tasks import runtime

    container = Container(service, runner)
    monkeypatch.setattr(runtime, "_factory", lambda: container)
    monkeypatch.setattr(runtime, "_container", None)
    return celery_app


def _on_worker(cls: type) -> Callable[[pytest.FixtureRequest], Any]:
    return lambda request: cls(request.getfixturevalue("worker_app"))


def _redis_deadlines(request: pytest.FixtureRequest) -> RedisDeadlines:
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    return RedisDeadlines(client, prefix=request.getfixturevalue("prefix"))


def _inline_rounds(request: pytest.FixtureRequest) -> InlineRounds:
    rounds = InlineRounds(request.getfixturevalue("runner"), request.getfixturevalue("handle"))
    request.addfinalizer(rounds.close)
    return rounds


def _inline_deadlines(request: pytest.FixtureRequest) -> InlineDeadlines:
    deadlines = InlineDeadlines(request.getfixturevalue("handle"))
    request.addfinalizer(deadlines.close)
    return deadlines


ROUNDS = [
    implementation(InlineRounds, _inline_rounds),
    implementation(CeleryRounds, _on_worker(CeleryRounds), marks=pytest.mark.redis),
]
DEADLINES = [
    implementation(InlineDeadlines, _inline_deadlines),
    implementation(RedisDeadlines, _redis_deadlines, marks=pytest.mark.redis),
]
QUEUES = [
    implementation(InlineChatQueue, lambda request: InlineChatQueue(request.getfixturevalue("handle"))),
    implementation(CeleryChatQueue, _on_worker(CeleryChatQueue), marks=pytest.mark.redis),
]
TRACE_CLOSERS = [
    implementation(InlineTraceCloser, lambda request: InlineTraceCloser(request.getfixturevalue("handle"))),
    implementation(CeleryTraceCloser, _on_worker(CeleryTraceCloser), marks=pytest.mark.redis),
]


def _sweeper(request: pytest.FixtureRequest) -> Callable[[], object]:
    from tasks.sweeper import DeadlineSweeper

    deadlines = _redis_deadlines(request)
    return DeadlineSweeper(deadlines, request.getfixturevalue("service")).sweep  # type: ignore[arg-type]


MAIN_PROCESS: dict[type, Callable[[pytest.FixtureRequest], Callable[[], object]]] = {RedisDeadlines: _sweeper}
"""What a worker's main process does for the deadlines of an adapter that needs one (run on each poll)."""


@pytest.fixture(params=ROUNDS)
def rounds(request: pytest.FixtureRequest) -> FanOutPort:
    port: FanOutPort = request.param(request)
    return port


@pytest.fixture(params=DEADLINES)
def deadlines(request: pytest.FixtureRequest) -> DeadlinePort:
    port: DeadlinePort = request.param(request)
    return port


@pytest.fixture(params=QUEUES)
def queue(request: pytest.FixtureRequest) -> ChatQueuePort:
    port: ChatQueuePort = request.param(request)
    return port


@pytest.fixture(params=TRACE_CLOSERS)
def closer(request: pytest.FixtureRequest) -> TraceCloserPort:
    port: TraceCloserPort = request.param(request)
    return port


@pytest.fixture
def main_process(request: pytest.FixtureRequest, deadlines: DeadlinePort) -> Callable[[], object]:
    build = MAIN_PROCESS.get(type(deadlines))
    return build(request) if build else (lambda: None)


def job(name: str = "j1") -> JobRef:
    return JobRef(
        job_id=f"{name}-{uuid.uuid4().hex[:6]}",
        thread_id=f"job:{name}",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        session_id="session-1",
        accepted_at=time.time(),
        user_id="user-7",
        root_run="20250101T000000000000Zabc.20250101T000000000001Zdef",
    )


def query(ref: JobRef) -> SubagentQuery:
    return SubagentQuery(ref.job_id, "페트병 어떻게 버려? 날씨도", ("waste", "weather"), hints={"item": "페트병"})


READY = [
    {"name": "collection_point", "status": "not_configured", "summary": "수거함 정보는 아직 연결되지 않았어요"},
    {"name": "location", "status": "not_configured"},
]


def names(results: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(r["name"]) for r in results]


# -- FanOutPort ---------------------------------------------------------------------------------------------
def test_a_round_continues_with_its_results_in_order_then_the_ready_ones(
    rounds: FanOutPort, service: RecordingService
) -> None:
    ref = job()
    rounds.fan_out(ref, 1, ["weather", "waste_rag", "general"], query(ref), READY)
    ((resumed, round_no, results),) = service.wait_for("resume")
    assert resumed == ref  # the whole reference: trace context, session, user, root run
    assert round_no == 1
    assert names(results) == ["weather", "waste_rag", "general", "collection_point", "location"]
    assert results[3:] == READY  # passed on unchanged
    for result in results[:3]:
        assert SubagentResult.from_dict(result).name == result["name"]  # what the runner answered
    assert service.of("round_failed") == []


def test_a_round_of_one_subagent_continues_the_same_way(rounds: FanOutPort, service: RecordingService) -> None:
    ref = job()
    rounds.fan_out(ref, 2, ["waste_rag"], query(ref), READY[:1])
    ((resumed, round_no, results),) = service.wait_for("resume")
    assert (resumed, round_no) == (ref, 2)
    assert names(results) == ["waste_rag", "collection_point"]


def test_a_round_with_nothing_to_run_continues_with_the_ready_results_alone(
    rounds: FanOutPort, service: RecordingService
) -> None:
    ref = job()
    rounds.fan_out(ref, 3, [], query(ref), READY)
    ((resumed, round_no, results),) = service.wait_for("resume")
    assert (resumed, round_no, results) == (ref, 3, READY)


def test_a_round_without_ready_results_continues_with_its_own(rounds: FanOutPort, service: RecordingService) -> None:
    ref = job()
    rounds.fan_out(ref, 1, ["general", "waste_rag"], query(ref))
    ((_, _, results),) = service.wait_for("resume")
    assert names(results) == ["general", "waste_rag"]


def test_synchronous_says_whether_the_round_ran_before_fan_out_returned(
    rounds: FanOutPort, service: RecordingService
) -> None:
    ref = job()
    started = time.monotonic()
    rounds.fan_out(ref, 1, ["weather", "waste_rag"], query(ref), READY)
    took = time.monotonic() - started
    if rounds.synchronous:
        assert len(service.of("resume")) == 1
    else:
        assert service.of("resume") == []  # sent, not run
        assert took < SLOW_S, "fan_out waited for the subagents"
        service.wait_for("resume")


def test_rounds_of_several_jobs_at_once_each_continue_their_own_job(
    rounds: FanOutPort, service: RecordingService
) -> None:
    refs = [job(f"many{n}") for n in range(4)]
    threads = [
        threading.Thread(target=rounds.fan_out, args=(ref, n + 1, ["waste_rag", "general"], query(ref), READY))
        for n, ref in enumerate(refs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    resumed = service.wait_for("resume", count=len(refs))
    assert sorted((r.job_id, n) for r, n, _ in resumed) == sorted((r.job_id, n + 1) for n, r in enumerate(refs))
    assert all(names(results) == ["waste_rag", "general", "collection_point", "location"] for _, _, results in resumed)


# -- DeadlinePort -------------------------------------------------------------------------------------------
def _expired_within(service: RecordingService, main_process: Callable[[], object], timeout_s: float) -> list[JobRef]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        main_process()
        if found := service.of("expire"):
            return [args[0] for args in found]
        time.sleep(0.05)
    return []


def test_a_deadline_ends_the_job_even_if_all_its_tasks_are_lost(
    deadlines: DeadlinePort, service: RecordingService, main_process: Callable[[], object]
) -> None:
    ref = job()
    deadlines.schedule_deadline(ref, 0.3)  # and nothing else of the job ever runs
    main_process()
    assert service.of("expire") == []  # not before its time
    assert _expired_within(service, main_process, 5.0) == [ref]


def test_deadlines_of_several_jobs_end_each_of_them(
    deadlines: DeadlinePort, service: RecordingService, main_process: Callable[[], object]
) -> None:
    refs = [job(f"late{n}") for n in range(3)]
    for ref in refs:
        deadlines.schedule_deadline(ref, 0.1)
    deadline = time.monotonic() + 5
    while len(service.of("expire")) < len(refs) and time.monotonic() < deadline:
        main_process()
        time.sleep(0.05)
    assert sorted(args[0].job_id for args in service.of("expire")) == sorted(r.job_id for r in refs)


def test_cancelling_a_deadline_is_harmless_for_any_job(
    deadlines: DeadlinePort, service: RecordingService, main_process: Callable[[], object]
) -> None:
    never_scheduled, scheduled = job("never"), job("scheduled")
    deadlines.cancel_deadline(never_scheduled)
    deadlines.schedule_deadline(scheduled, 60)
    deadlines.cancel_deadline(scheduled)
    deadlines.cancel_deadline(scheduled)
    main_process()
    assert service.of("expire") == []


# -- ChatQueuePort ------------------------------------------------------------------------------------------
def test_an_enqueued_chat_starts_as_the_message_it_names(queue: ChatQueuePort, service: RecordingService) -> None:
    kwargs = {"job_id": "queued-1", "message": "그럼 캔은?", "session_id": "s", "session_seq": 2}
    queue.enqueue_chat(kwargs, message_id="message-queued-1")
    ((args, got, message_id),) = service.wait_for("accept")
    assert args == ()
    assert got == kwargs  # the contract kwargs, unchanged
    assert message_id == "message-queued-1"


def test_enqueued_chats_all_start(queue: ChatQueuePort, service: RecordingService) -> None:
    for n in range(3):
        queue.enqueue_chat({"job_id": f"queued-{n}", "message": f"{n}번"}, message_id=f"message-{n}")
    started = service.wait_for("accept", count=3)
    assert sorted(message_id for _args, _kwargs, message_id in started) == ["message-0", "message-1", "message-2"]


# -- TraceCloserPort ----------------------------------------------------------------------------------------
def test_close_trace_reaches_a_process_that_ends_the_root_run(
    closer: TraceCloserPort, service: RecordingService
) -> None:
    ref = job()
    closer.close_trace(ref, "expired", "timeout")
    assert service.wait_for("close_trace") == [(ref, "expired", "timeout")]
