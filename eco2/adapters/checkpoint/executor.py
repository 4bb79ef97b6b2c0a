"""One thread pool per process for LangGraph's background work, instead of a new pool per graph call.

Why: LangGraph's sync loop opens a ``BackgroundExecutor`` on every ``invoke``/``stream``, and that enters
``get_executor_for_config``: a fresh ``ThreadPoolExecutor`` that starts threads for the checkpoint writes
and joins them when the call ends. eco2 calls its graph twice per chat, so every chat started and joined
several threads, about a fifth of eco2's own CPU per chat on the benchmark machine (docs/benchmarks.md).
LangGraph offers no public seam for the executor (langgraph#8820 asks for a related one), so
:func:`install` rebinds the name LangGraph's executor module looks up, with guards:

- only when that seam exists as expected; otherwise the stock behaviour stays, with one warning;
- only for calls without ``max_concurrency`` (a shared pool cannot enforce a per-call limit);
- never for a call made from a thread of the shared pool itself: a nested graph would then wait on
  its own pool, which can deadlock once the pool is full;
- one pool per process, made lazily, so a prefork worker's children each get their own after the fork
  (threads do not survive ``fork``).

``BackgroundExecutor`` still waits for everything it submitted before the call returns, so a checkpoint
is written when ``invoke`` returns, exactly as before; only the threads are reused.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from langchain_core.runnables.config import ContextThreadPoolExecutor

log = logging.getLogger(__name__)

SEAM_MODULE = "langgraph.pregel._executor"
SEAM_NAME = "get_executor_for_config"
_MARK = "__eco2_shared_executor__"

_lock = threading.Lock()
_pool: tuple[int, ContextThreadPoolExecutor] | None = None
_local = threading.local()

ExecutorFactory = Callable[[Any], AbstractContextManager[Executor]]


def install() -> bool:
    """Make LangGraph reuse this process's pool; True when installed (or already), False when unavailable."""
    try:
        module = importlib.import_module(SEAM_MODULE)
    except ImportError:
        module = None
    stock = getattr(module, SEAM_NAME, None)
    if module is None or not callable(stock):
        log.warning("LangGraph has no %s.%s: graph calls keep a thread pool each", SEAM_MODULE, SEAM_NAME)
        return False
    if getattr(stock, _MARK, None) is not None:
        return True
    setattr(module, SEAM_NAME, _shared_or(stock))
    return True


def installed() -> bool:
    """Whether LangGraph currently uses the shared pool."""
    module = importlib.import_module(SEAM_MODULE)
    return getattr(getattr(module, SEAM_NAME, None), _MARK, None) is not None


def uninstall() -> None:
    """Give LangGraph back its own per-call pools (a no-op when not installed)."""
    module = importlib.import_module(SEAM_MODULE)
    stock = getattr(getattr(module, SEAM_NAME, None), _MARK, None)
    if stock is not None:
        setattr(module, SEAM_NAME, stock)


def _shared_or(stock: ExecutorFactory) -> ExecutorFactory:
    @contextmanager
    def executor_for_config(config: Any) -> Iterator[Executor]:
        limited = isinstance(config, dict) and config.get("max_concurrency") is not None
        if limited or getattr(_local, "in_pool", False):
            with stock(config) as executor:
                yield executor
        else:
            yield shared_pool()

    setattr(executor_for_config, _MARK, stock)  # marks it, and keeps the original for uninstall()
    return executor_for_config


def shared_pool() -> ContextThreadPoolExecutor:
    """This process's pool (a new one after a fork: the parent's threads do not exist in the child)."""
    global _pool  # noqa: PLW0603
    pid = os.getpid()
    with _lock:
        if _pool is None or _pool[0] != pid:
            pool = ContextThreadPoolExecutor(thread_name_prefix="eco2-graph", initializer=_mark_pool_thread)
            _pool = (pid, pool)
        return _pool[1]


def _mark_pool_thread() -> None:
    _local.in_pool = True
