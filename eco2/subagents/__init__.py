"""Subagents: one package per subagent (``<name>/``: its logic and the upstream client only it uses) and the
modules they share (context, runner, catalog, progress, district, unavailable).

Each package re-exports ``build``, which its registry entry (``eco2.domain.registry``) names as
``eco2.subagents.<name>:build``. Packages never import each other; what two of them need lives in a shared
module here, in ``eco2.adapters`` (shared upstreams and infrastructure) or in ``eco2.domain``.
"""
