"""The ``weather`` slice: the subagent, its KMA client and its Korean wording.

``subagent`` decides what an answer needs (:class:`KmaWeather`, :func:`build`), ``kma`` is the upstream
(grid, base times, client, parsing, value meanings, digest), ``korean`` words the figures and ``places``
knows the cities a user may name. The registry builds it as ``eco2.subagents.weather:build``.
"""

from __future__ import annotations

from eco2.subagents.weather.subagent import KmaWeather, build, without_key

__all__ = ["KmaWeather", "build", "without_key"]
