"""Subagents whose real upstream is not configured: they answer at once, with no I/O.

Some still know something without their key (typical fees, where a kind of item usually goes, which
setting enables the rest): ``known`` says it. The rest, or a subagent with nothing to say, answers
"not configured". Either way the runner treats the subagent as settled (``SubagentRunner.settled``): it
runs in the orchestrating process instead of costing a task, so ``known`` must never touch the network.
"""

from __future__ import annotations

from collections.abc import Callable

from eco2.domain.subagents import SubagentQuery, SubagentResult
from eco2.errors import NotConfiguredError

KnownAnswer = Callable[[SubagentQuery], SubagentResult | None]
"""What a subagent can say without its upstream, or ``None`` when nothing (then: "not configured")."""


class NotConfigured:
    """Implements ``SubagentPort`` without the upstream: what is known without it, else a clear refusal."""

    def __init__(self, name: str, reason: str, known: KnownAnswer | None = None) -> None:
        self._name = name
        self._reason = reason
        self._known = known

    def run(self, query: SubagentQuery) -> SubagentResult:
        """``known``'s answer; otherwise raise ``NotConfiguredError`` (the runner: a ``not_configured`` result)."""
        if self._known is not None and (result := self._known(query)) is not None:
            return result
        raise NotConfiguredError(f"{self._name}: {self._reason}")
