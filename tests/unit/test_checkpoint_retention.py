"""Checkpoints keep only what resuming needs, and idle conversations go (issue 12, item 11)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from eco2.adapters.checkpoint import make_checkpointer
from eco2.adapters.checkpoint.retention import CheckpointRetention
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from tests.fakes import KeywordClassifier, all_subagents

pytestmark = pytest.mark.redis


def rows(path: Path, thread_id: str) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()
        return int(count)


def test_a_session_keeps_only_its_latest_checkpoint_and_a_lone_job_none(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    saver = make_checkpointer(f"sqlite:///{path}")
    container, events = bootstrap_inline(
        Settings.from_env({}), classifier=KeywordClassifier(), subagents=all_subagents(), checkpointer=saver
    )
    for n, message in enumerate(["페트병 어떻게 버려?", "그럼 캔은?", "그럼 유리병은?", "날씨는?"]):
        job = f"turn-{n}"
        container.service.accept((), {"job_id": job, "message": message, "session_id": "kept"})
        assert [f for _i, f in events.follow(job, timeout_s=5)][-1]["type"] == "done"
    assert rows(path, "kept") == 1  # every turn used to leave two or more behind
    state: Any = saver.get_tuple({"configurable": {"thread_id": "kept", "checkpoint_ns": ""}})
    assert [t["user"] for t in state.checkpoint["channel_values"]["turns"]][-2:] == ["그럼 유리병은?", "날씨는?"]
    container.service.accept((), {"job_id": "alone", "message": "페트병"})
    assert [f for _i, f in events.follow("alone", timeout_s=5)][-1]["type"] == "done"
    assert rows(path, "job:alone") == 0  # nobody resumes a job without a session once it has ended


def test_sessions_idle_past_their_ttl_are_deleted_by_later_endings(tmp_path: Path, redis_url: str) -> None:
    saver = make_checkpointer(f"sqlite:///{tmp_path / 'c.sqlite'}")
    client = redis.Redis.from_url(redis_url)
    retention = CheckpointRetention(saver, client, prefix="t", session_ttl_s=0.3)
    config = {"configurable": {"thread_id": "idle", "checkpoint_ns": ""}}
    from langgraph.checkpoint.base import empty_checkpoint

    saver.put(config, empty_checkpoint(), {}, {})  # type: ignore[arg-type]
    retention.ended("idle", session=True)
    assert saver.get_tuple(config) is not None  # just active: kept
    time.sleep(0.4)
    retention.ended("busy", session=True)  # another conversation's job ends and does the sweeping
    assert saver.get_tuple(config) is None
    assert retention.expire_idle() == []  # each idle thread is claimed once
