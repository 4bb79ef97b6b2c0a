"""What a subagent factory gets to build its implementation: settings and the shared upstream plumbing.

Each subagent package exposes ``build(ctx: SubagentContext) -> SubagentPort``; ``eco2.subagents.catalog``
calls them. Factories must not do I/O: a subagent whose key is missing returns a ``NotConfigured``
implementation that answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from eco2.adapters.http.upstream import HttpUpstream
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.ports.metrics import MetricsPort


@dataclass(frozen=True, slots=True)
class SubagentContext:
    """Shared by every subagent factory of one process."""

    settings: Settings
    breakers: Breakers
    metrics: MetricsPort
    redis: redis.Redis | None = None
    """For shared state (breakers already use it); ``None`` in ``--inline`` mode."""

    def http(self, name: str, base_url: str) -> HttpUpstream:
        """An HTTP upstream called ``name`` (its breaker and metric label) at ``base_url``."""
        return HttpUpstream(name, base_url, self.settings.upstream_timeout_s, self.breakers)
