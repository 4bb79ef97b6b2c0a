"""``RetentionPort`` (eco2/ports/checkpoints.py): once a job ends, keep what a session's next turn needs.

Run against ``CheckpointRetention`` on the checkpointers eco2 uses without a database server: LangGraph's
in-memory saver (``eco2 chat --inline``, tests), the SQLite saver (``ECO2_CHECKPOINT_URL=sqlite:///...``),
and the SQLite saver with the Redis index of session threads that workers share. What a next turn needs
is a thread's latest checkpoint in each namespace with its pending writes; a job without a session has no
next turn. "Drop the rest" is checked on the durable stores only: for the in-memory saver the adapter keeps
a session thread's older checkpoints by design (the store lives only as long as its process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from eco2.adapters.checkpoint import make_checkpointer
from eco2.adapters.checkpoint.retention import CheckpointRetention
from eco2.ports.checkpoints import RetentionPort
from tests.contract.conftest import implementation, traits_of

NAMESPACES = ("", "subgraph:1")


@pytest.fixture
def memory_saver() -> InMemorySaver:
    return InMemorySaver()


@pytest.fixture
def sqlite_saver(tmp_path: Path) -> BaseCheckpointSaver[Any]:
    return make_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.sqlite'}")


def _retention(saver_fixture: str, with_redis: bool = False) -> Any:
    def build(request: pytest.FixtureRequest) -> CheckpointRetention:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url")) if with_redis else None
        return CheckpointRetention(request.getfixturevalue(saver_fixture), client, prefix="contract")

    return build


IMPLEMENTATIONS = [
    implementation(
        CheckpointRetention, _retention("memory_saver"), variant="memory", saver="memory_saver", durable=False
    ),
    implementation(
        CheckpointRetention, _retention("sqlite_saver"), variant="sqlite", saver="sqlite_saver", durable=True
    ),
    implementation(
        CheckpointRetention,
        _retention("sqlite_saver", with_redis=True),
        variant="sqlite-redis",
        saver="sqlite_saver",
        durable=True,
        marks=pytest.mark.redis,
    ),
]
"""Traits: ``saver``, the fixture of the checkpointer it trims; ``durable``, whether older checkpoints go."""
DURABLE = [p for p in IMPLEMENTATIONS if p.values[0].traits["durable"]]


@pytest.fixture(params=IMPLEMENTATIONS)
def retention(request: pytest.FixtureRequest) -> RetentionPort:
    port: RetentionPort = request.param(request)
    return port


@pytest.fixture(params=DURABLE)
def durable(request: pytest.FixtureRequest) -> RetentionPort:
    port: RetentionPort = request.param(request)
    return port


@pytest.fixture
def saver(request: pytest.FixtureRequest) -> BaseCheckpointSaver[Any]:
    """The checkpointer this test's retention (``retention`` or ``durable``) trims: the same instance."""
    name = "retention" if "retention" in request.fixturenames else "durable"
    request.getfixturevalue(name)
    found: BaseCheckpointSaver[Any] = request.getfixturevalue(traits_of(request, name)["saver"])
    return found


def config(thread_id: str, ns: str = "") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


def turns(saver: BaseCheckpointSaver[Any], thread_id: str, count: int = 3) -> dict[str, str]:
    """``count`` checkpoints per namespace (the last with a pending write); the latest id per namespace."""
    latest = {}
    for ns in NAMESPACES:
        current: Any = config(thread_id, ns)
        for step in range(count):
            current = saver.put(current, empty_checkpoint(), {"step": step}, {})  # type: ignore[arg-type]
        saver.put_writes(current, [("turns", "다음 턴이 읽을 값")], task_id="task-1")
        latest[ns] = current["configurable"]["checkpoint_id"]
    return latest


def stored(saver: BaseCheckpointSaver[Any], thread_id: str, ns: str) -> list[str]:
    return [t.config["configurable"]["checkpoint_id"] for t in saver.list(config(thread_id, ns))]  # type: ignore[arg-type]


def test_a_session_keeps_its_latest_checkpoint_in_every_namespace(
    retention: RetentionPort, saver: BaseCheckpointSaver[Any]
) -> None:
    latest = turns(saver, "session-a")
    retention.ended("session-a", session=True)
    for ns, checkpoint_id in latest.items():
        got = saver.get_tuple(config("session-a", ns))  # type: ignore[arg-type]
        assert got is not None, ns
        assert got.config["configurable"]["checkpoint_id"] == checkpoint_id
        assert [(channel, value) for _task, channel, value in got.pending_writes or []] == [
            ("turns", "다음 턴이 읽을 값")
        ]


def test_a_durable_store_drops_a_sessions_older_checkpoints(
    durable: RetentionPort, saver: BaseCheckpointSaver[Any]
) -> None:
    latest = turns(saver, "session-b")
    durable.ended("session-b", session=True)
    for ns, checkpoint_id in latest.items():
        assert stored(saver, "session-b", ns) == [checkpoint_id]


def test_a_job_without_a_session_leaves_nothing_behind(
    retention: RetentionPort, saver: BaseCheckpointSaver[Any]
) -> None:
    turns(saver, "job:lone")
    retention.ended("job:lone", session=False)
    for ns in NAMESPACES:
        assert saver.get_tuple(config("job:lone", ns)) is None  # type: ignore[arg-type]
        assert stored(saver, "job:lone", ns) == []


def test_other_threads_are_left_alone(retention: RetentionPort, saver: BaseCheckpointSaver[Any]) -> None:
    other = turns(saver, "session-other", count=2)
    turns(saver, "job:ending")
    retention.ended("job:ending", session=False)
    retention.ended("session-ending", session=True)  # a thread with no checkpoint yet
    for ns, checkpoint_id in other.items():
        assert stored(saver, "session-other", ns)[0] == checkpoint_id
        assert len(stored(saver, "session-other", ns)) == 2


def test_ending_a_thread_twice_or_one_never_saved_is_harmless(
    retention: RetentionPort, saver: BaseCheckpointSaver[Any]
) -> None:
    latest = turns(saver, "session-c")
    for _ in range(2):
        assert retention.ended("session-c", session=True) is None
    assert retention.ended("never-saved", session=True) is None
    assert retention.ended("job:never-saved", session=False) is None
    got = saver.get_tuple(config("session-c"))  # type: ignore[arg-type]
    assert got is not None
    assert got.config["configurable"]["checkpoint_id"] == latest[""]
