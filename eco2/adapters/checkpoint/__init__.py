"""LangGraph checkpointers: SQLite (embedded default, shared by a host's worker processes) or Postgres
(production, shared across hosts). Both are the LangGraph project's own checkpoint packages."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from langgraph.checkpoint.base import BaseCheckpointSaver

from eco2.errors import ConfigError


def make_checkpointer(url: str) -> BaseCheckpointSaver[Any]:
    """A ready checkpointer for ``sqlite:///path`` or ``postgresql://...`` (tables created if missing).

    Call it in the process that uses it (after any fork): connections must not cross a fork.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return _sqlite(url)
    if scheme in {"postgres", "postgresql"}:
        return _postgres(url)
    raise ConfigError(f"ECO2_CHECKPOINT_URL must be sqlite:///path or postgresql://..., got scheme {scheme!r}")


def _sqlite(url: str) -> BaseCheckpointSaver[Any]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    raw = url.removeprefix("sqlite://")
    if raw in {"", "/", "/:memory:"}:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
    else:
        path = Path(raw)
        path.parent.mkdir(parents=True, exist_ok=True)
        # WAL lets every worker process of the host read while one writes; NORMAL sync is durable
        # against process crashes (the failure that matters here) without an fsync per step.
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def _postgres(url: str) -> BaseCheckpointSaver[Any]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise ConfigError("a postgresql:// checkpoint URL needs: pip install 'eco2[postgres]'") from exc
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=4,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=True,
    )
    saver = PostgresSaver(pool)
    saver.setup()
    return saver
