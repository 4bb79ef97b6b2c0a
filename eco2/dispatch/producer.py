"""The producer side of the broker: sending a chat as any backend does, and asking whether the broker is up.

The command line, the gateway, ``eco2 doctor`` and the local process helpers all need this, and none of
them should know Celery or kombu: with this module, ``eco2/dispatch/`` is the only Celery-aware code in
``eco2/`` (an import-linter contract keeps it so). Sending is by the public task name and queue
(docs/contract.md), exactly what an external backend does: no task module is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError

from eco2.config import AMQP_TRANSPORT_OPTIONS
from eco2.dispatch.celery_canvas import TASK_PROCESS
from eco2.domain.registry import Queue

SEND_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5}
"""A producer rides out a broker blip of about a second, then reports the failure to its caller."""

BrokerUnreachable = OperationalError
"""What sending or probing raises when the broker cannot be reached (its message names the address)."""


class ChatProducer:
    """Sends ``eco2.chat.process`` messages; on RabbitMQ each publish is confirmed by the broker."""

    def __init__(self, broker_url: str, broker_is_redis: bool = True) -> None:
        options = {} if broker_is_redis else dict(AMQP_TRANSPORT_OPTIONS)
        self._app = Celery(broker=broker_url, broker_transport_options=options)

    def send(self, kwargs: Mapping[str, Any], task_id: str | None = None) -> None:
        """Enqueue one chat job (the message stays out of task events: only its job id is shown)."""
        self._app.send_task(
            TASK_PROCESS,
            kwargs=dict(kwargs),
            queue=Queue.CHAT.value,
            task_id=task_id,
            kwargsrepr=repr({"job_id": kwargs.get("job_id")}),
            retry_policy=SEND_RETRY,
        )

    def close(self) -> None:
        """Release the broker connections."""
        self._app.close()


def probe_broker(url: str, timeout_s: float) -> None:
    """Connect to the broker once; raises ``BrokerUnreachable`` (or a socket error) when it is not there."""
    with Connection(url, connect_timeout=timeout_s) as conn:
        conn.ensure_connection(max_retries=1, timeout=max(1, round(timeout_s)))


class WorkerPing:
    """Asks worker nodes over the broker whether they are up (Celery's remote control ``ping``)."""

    def __init__(self, broker_url: str) -> None:
        self._app = Celery(broker=broker_url)

    def __call__(self, names: Iterable[str], timeout_s: float) -> set[str]:
        """The node names among ``names`` that answered within ``timeout_s``."""
        replies = self._app.control.ping(destination=list(names), timeout=timeout_s) or []
        return {name for reply in replies for name in reply}

    def close(self) -> None:
        """Release the broker connection."""
        self._app.close()
