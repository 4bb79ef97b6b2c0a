"""Subagents whose real upstream is not configured: they answer "not configured" at once, with no I/O."""

from __future__ import annotations

from eco2.domain.subagents import SubagentQuery, SubagentResult
from eco2.errors import NotConfiguredError


class NotConfigured:
    """Implements ``SubagentPort`` by refusing immediately with a clear reason."""

    def __init__(self, name: str, reason: str) -> None:
        self._name = name
        self._reason = reason

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Raise ``NotConfiguredError``: the runner turns it into a ``not_configured`` result."""
        raise NotConfiguredError(f"{self._name}: {self._reason}")
