"""Builds the LangGraph ``StateGraph`` of a chat turn."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from eco2.orchestrator.nodes import Nodes, RunContext
from eco2.orchestrator.state import ChatState

ChatGraph = CompiledStateGraph[ChatState, RunContext, ChatState, ChatState]


def _after_round(state: ChatState) -> str:
    if state.get("closed_failure"):
        return END
    if state.get("plan"):
        return "dispatch"
    return "answer"


def build_graph(nodes: Nodes, checkpointer: BaseCheckpointSaver[Any]) -> ChatGraph:
    """intent -> dispatch (a round) -> (dispatch again for a fallback round | answer | END on a closed failure).

    Three nodes, two steps per task: each LangGraph step has a fixed cost on the chat's critical path.
    """
    graph = StateGraph(ChatState, context_schema=RunContext)
    graph.add_node("intent", nodes.intent)
    graph.add_node("dispatch", nodes.dispatch)
    graph.add_node("answer", nodes.answer)
    graph.add_edge(START, "intent")
    graph.add_edge("intent", "dispatch")
    graph.add_conditional_edges("dispatch", _after_round, ["dispatch", "answer", END])
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer)
