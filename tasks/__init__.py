"""Celery entrypoints of eco2: the app, thin task functions and worker signals.

``celery -A tasks worker`` finds :data:`app` here; a worker without ``-Q`` consumes every eco2 queue.
"""

from __future__ import annotations

from tasks.app import app

__all__ = ["app"]
