"""Port of a subagent implementation (the code behind one registry entry)."""

from __future__ import annotations

from typing import Protocol

from eco2.domain.subagents import SubagentQuery, SubagentResult


class SubagentPort(Protocol):
    """Answers one query; raises ``RetryableError``/``PermanentError``/``NotConfiguredError`` on failure.

    Implementations do not time themselves, emit events or retry: the runner does that uniformly.
    """

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Do the work for ``query``."""
        ...
