"""Builds the LangGraph ``StateGraph`` of a chat turn."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from eco2.orchestrator.nodes import Nodes, RunContext
from eco2.orchestrator.state import ChatState

ChatGraph = CompiledStateGraph[ChatState, RunContext, ChatState, ChatState]


def _after_aggregate(state: ChatState) -> str:
    if state.get("closed_failure"):
        return END
    if state.get("plan"):
        return "dispatch"
    return "answer"


def build_graph(nodes: Nodes, checkpointer: BaseCheckpointSaver[Any]) -> ChatGraph:
    """intent -> router -> dispatch -> aggregate -> (dispatch again | answer)."""
    graph = StateGraph(ChatState, context_schema=RunContext)
    graph.add_node("intent", nodes.intent)
    graph.add_node("router", nodes.router)
    graph.add_node("dispatch", nodes.dispatch)
    graph.add_node("aggregate", nodes.aggregate)
    graph.add_node("answer", nodes.answer)
    graph.add_edge(START, "intent")
    graph.add_edge("intent", "router")
    graph.add_edge("router", "dispatch")
    graph.add_edge("dispatch", "aggregate")
    graph.add_conditional_edges("aggregate", _after_aggregate, ["dispatch", "answer", END])
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer)
