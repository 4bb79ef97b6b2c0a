"""The embedded character service: what an unset ``ECO2_CHARACTER_GRPC_ADDR`` means.

Without an address, a process that calls the character service serves it itself: the real server of
``server.py`` (the same servicer and health service) with the bundled catalogue, bound to a free port on
loopback, started by the process's first call and stopped when the process exits. The ``character``
subagent then runs exactly as against ``eco2 character-server``: the same client, deadlines, retries and
breaker, over real gRPC. So ``eco2 demo``, a plain ``eco2 worker`` and ``eco2 chat --inline`` answer
character questions with nothing else to run; a deployment that wants one shared service sets the address
(the Helm chart does).

Why a server in each process rather than one per host, started by the worker's main process and handed to
the pool through the environment: a threads pool (the default) calls from its main process anyway; a
prefork pool would fork its children from a process running a gRPC server, which gRPC does not support;
and there is no address to hand down, no child process to supervise, and nothing left listening when a
worker is SIGKILLed. The cost is a few idle threads per process and about 5 ms at its first character call.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from eco2.subagents.character.catalogue import Catalogue, load_catalogue
from eco2.subagents.character.server import CharacterServer, start_server

__all__ = ["EmbeddedCharacterService", "embedded_address"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_WORKERS = 4
"""Threads serving calls: a chat makes a few short RPCs, each answered from memory."""


class EmbeddedCharacterService:
    """This process's character server on loopback; :meth:`address` starts it on first use."""

    def __init__(self, catalogue: Catalogue | None = None, host: str = LOOPBACK) -> None:
        self._catalogue = catalogue
        self._host = host
        self._lock = threading.Lock()
        self._server: CharacterServer | None = None
        self._address = ""

    def address(self) -> str:
        """``host:port`` of the running server, started now if it is not running."""
        with self._lock:
            if self._server is None:
                catalogue = self._catalogue or load_catalogue()
                self._server = start_server(f"{self._host}:0", catalogue, max_workers=MAX_WORKERS)
                self._address = f"{self._host}:{self._server.port}"
                log.info("embedded character service on %s (ECO2_CHARACTER_GRPC_ADDR is unset)", self._address)
            return self._address

    @property
    def running(self) -> bool:
        """Whether this process serves it now."""
        return self._server is not None

    def stop(self, grace_s: float = 0.0) -> None:
        """Stop the server (the next :meth:`address` starts a new one)."""
        with self._lock:
            server, self._server, self._address = self._server, None, ""
        if server is not None:
            server.stop(grace_s)

    def forget(self) -> None:
        """In a forked child: drop the parent's server without touching it (its threads did not survive the
        fork, and its socket is the parent's), and the lock a parent's thread may have held."""
        self._lock = threading.Lock()
        self._server, self._address = None, ""


_process = EmbeddedCharacterService()
os.register_at_fork(after_in_child=_process.forget)
atexit.register(_process.stop)


def embedded_address() -> str:
    """The address of this process's embedded character service (one per process, started on first call)."""
    return _process.address()
