"""The shared LangGraph executor: graph calls reuse one pool's threads, with the same results."""

from __future__ import annotations

import importlib
import multiprocessing
import threading
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from eco2.adapters.checkpoint import executor

SEAM = importlib.import_module(executor.SEAM_MODULE)


class _State(TypedDict, total=False):
    n: int
    got: str


def _graph() -> Any:
    def first(state: _State) -> dict[str, Any]:
        return {"n": state["n"] + 1}

    def wait(state: _State) -> dict[str, Any]:
        return {"got": interrupt({"n": state["n"]})}

    graph = StateGraph(_State)
    graph.add_node("first", first)
    graph.add_node("wait", wait)
    graph.add_edge(START, "first")
    graph.add_edge("first", "wait")
    graph.add_edge("wait", END)
    return graph.compile(checkpointer=InMemorySaver())


@pytest.fixture
def stock() -> Iterator[None]:
    """LangGraph's own executor factory during the test (a bootstrap elsewhere may have installed ours)."""
    executor.uninstall()
    yield
    executor.uninstall()


def _run_turns(graph: Any, turns: int) -> tuple[int, list[Any]]:
    """Thread starts while running ``turns`` start+resume pairs, and every turn's final values."""
    starts = 0
    real_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        nonlocal starts
        starts += 1
        real_start(self)

    outputs = []
    threading.Thread.start = counting_start  # type: ignore[method-assign]
    try:
        for turn in range(turns):
            config = {"configurable": {"thread_id": f"t{turn}"}}
            graph.invoke({"n": turn}, config, durability="exit")
            outputs.append(graph.invoke(Command(resume=f"r{turn}"), config, durability="exit"))
    finally:
        threading.Thread.start = real_start  # type: ignore[method-assign]
    return starts, outputs


def test_graph_calls_reuse_one_pool_with_the_same_results(stock: None) -> None:
    graph = _graph()
    _run_turns(graph, 1)
    stock_starts, stock_outputs = _run_turns(graph, 10)
    assert stock_starts >= 20  # LangGraph alone starts threads on every call: what this module removes

    assert executor.install()
    assert executor.installed()
    _run_turns(graph, 3)  # the pool's threads start once
    shared_starts, shared_outputs = _run_turns(graph, 10)
    assert shared_starts <= 2  # the pool may still grow by a thread; never one per call
    assert shared_outputs == stock_outputs == [{"n": t + 1, "got": f"r{t}"} for t in range(10)]


def test_install_is_idempotent_and_uninstall_restores_langgraph(stock: None) -> None:
    original = getattr(SEAM, executor.SEAM_NAME)
    assert executor.install()
    factory = getattr(SEAM, executor.SEAM_NAME)
    assert executor.install()
    assert getattr(SEAM, executor.SEAM_NAME) is factory is not original
    executor.uninstall()
    assert getattr(SEAM, executor.SEAM_NAME) is original
    assert not executor.installed()


def test_limited_and_nested_calls_get_their_own_pool(stock: None) -> None:
    executor.install()
    factory = getattr(SEAM, executor.SEAM_NAME)
    with factory({}) as shared:
        assert shared is executor.shared_pool()
    with factory({"max_concurrency": 1}) as limited:
        assert limited is not executor.shared_pool()

    def nested() -> bool:
        with factory({}) as inner:
            return inner is not executor.shared_pool()

    assert executor.shared_pool().submit(nested).result(timeout=5)


def test_missing_seam_keeps_stock_behaviour(stock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(SEAM, executor.SEAM_NAME)
    assert executor.install() is False


def _child_runs_a_task(queue: Any) -> None:
    queue.put(executor.shared_pool().submit(lambda: 42).result(timeout=5))


def test_forked_child_gets_a_working_pool_of_its_own() -> None:
    parent_pool = executor.shared_pool()
    assert parent_pool.submit(lambda: 1).result(timeout=5) == 1  # the parent's thread exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_runs_a_task, args=(queue,))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert queue.get(timeout=1) == 42
