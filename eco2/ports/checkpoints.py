"""Port of checkpoint retention: what happens to a graph's saved steps once its job has ended."""

from __future__ import annotations

from typing import Protocol


class RetentionPort(Protocol):
    """Keeps the checkpoint store bounded as jobs end."""

    def ended(self, thread_id: str, session: bool) -> None:
        """The job of ``thread_id`` ended: keep what a session's next turn needs, drop the rest."""
        ...
