"""Builds the implementation behind each registry entry, with its declared factory.

Each subagent module has a ``build(ctx)`` factory named in its registry entry; subagents whose upstream has
no key or address answer at once without a network call (``NotConfigured``), so the chat still answers.
Factories do no I/O.
"""

from __future__ import annotations

from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.registry import REGISTRY, Registry


def build_subagents(ctx: SubagentContext, registry: Registry = REGISTRY) -> dict[str, SubagentPort]:
    """Implementation per subagent name (every name of the registry)."""
    return {spec.name: spec.build(ctx) for spec in registry}
