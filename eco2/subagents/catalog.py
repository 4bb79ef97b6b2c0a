"""Builds the implementation behind each registry entry, with its declared factory.

Each subagent package has a ``build(ctx)`` factory named in its registry entry; subagents whose upstream has
no key or address answer at once without a network call (``NotConfigured``), so the chat still answers.
Factories do no I/O.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from eco2.domain.registry import REGISTRY, Registry, SubagentSpec
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext

Factory = Callable[[SubagentContext], SubagentPort]


def factory_of(spec: SubagentSpec) -> Factory:
    """The ``build`` function its registry entry names (``"module:function"``)."""
    module, _, function = spec.factory.partition(":")
    return cast(Factory, getattr(importlib.import_module(module), function))


def build_subagents(ctx: SubagentContext, registry: Registry = REGISTRY) -> dict[str, SubagentPort]:
    """Implementation per subagent name (every name of the registry)."""
    return {spec.name: factory_of(spec)(ctx) for spec in registry}
