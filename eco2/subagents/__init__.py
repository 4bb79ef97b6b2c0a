"""Subagents: one module per subagent and the registry that declares them all."""
