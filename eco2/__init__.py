"""eco2: the Eco² chat worker as a Celery + LangGraph pipeline that streams answers into Redis Streams.

The package is a library: it knows nothing of Celery outside ``eco2.dispatch`` and the ``tasks`` package.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
