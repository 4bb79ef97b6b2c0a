"""The LangGraph orchestrator: state, routing rules, nodes, graph and the chat service driving it."""
