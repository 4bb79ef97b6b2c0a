"""The worker's message consumer: Celery's, made safe against messages it cannot run.

Celery builds a request from every message before running it. A body that is not a protocol-2 triple
(``[args, kwargs, embed]``), or headers of the wrong type, made that raise ``ValueError`` inside the consumer:
the worker died with "Unrecoverable error", the message went back to the queue unacknowledged, and every
restarted worker died on it again. This consumer checks each task message first and sends what it cannot
run down Celery's own invalid-message path instead: rejected, never requeued.

Every refused message (malformed, undecodable, a disallowed content type such as pickle, no task header, a
task name nobody registered) is logged once, without its body (it may hold a user's message), counted in
``chat_rejected_messages_total{reason}``, and recorded in ``{prefix}:chat:rejected`` with the ``job_id``
when one can be read, so an operator sees it and a backend can find out what became of its job.
Selected by ``worker_consumer`` in tasks/celeryconfig.py.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from celery.exceptions import InvalidTaskError
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.exceptions import ContentDisallowed, DecodeError
from kombu.message import Message

from eco2.dispatch.celery_canvas import TASK_PROCESS
from eco2.domain.request import parse_request, valid_job_id
from tasks import runtime

log = logging.getLogger(__name__)

CONTENT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)
"""What building a request from a well-formed-looking message can still raise on bad content."""


def problem_of(message: Message, tasks: Mapping[str, Any] | None = None) -> str | None:
    """Why a task message (protocol 2: a ``task`` header) cannot be run, or ``None`` when it can be tried.

    With ``tasks`` (the app's registry) the arguments must also fit the task's signature: a message that
    cannot even call its task would only fail, unrecorded, once a slot ran it. Decoding here costs nothing
    extra: kombu caches the payload the request reads next.
    """
    headers = message.headers
    if not isinstance(headers, Mapping) or not isinstance(headers.get("task"), str):
        return None  # not protocol 2: Celery's own checks handle it safely
    if not isinstance(headers.get("id"), str):
        return "its id header is not a string"
    body = message.decode()
    if not isinstance(body, list | tuple) or len(body) != 3:
        return "its body is not [args, kwargs, embed]"
    args, kwargs, embed = body
    if not isinstance(args, list | tuple) or not isinstance(kwargs, dict) or not isinstance(embed, dict | None):
        return "its body is not [args, kwargs, embed] of a list, an object and an object"
    task = (tasks or {}).get(headers["task"])
    if task is not None and not _binds(task, args, kwargs):
        return "its arguments do not fit the task"
    return None


def _binds(task: Any, args: Any, kwargs: dict[str, Any]) -> bool:
    try:
        signature = _signatures.get(task.name)
        if signature is None:  # autoretry wraps run in (*args, **kwargs): the task's own signature is under it
            signature = _signatures[task.name] = inspect.signature(getattr(task, "_orig_run", task.run))
        signature.bind(*args, **{str(k): v for k, v in kwargs.items()})
    except TypeError:
        return False
    except ValueError:  # a callable without an introspectable signature: let Celery try it
        return True
    return True


_signatures: dict[str, inspect.Signature] = {}


def job_id_of(message: Message) -> str | None:
    """The valid ``job_id`` a refused message carries, if any can be read (never raises)."""
    try:
        body = message.decode()
    except Exception:
        return None
    candidates: list[Any] = []
    if isinstance(body, dict):
        candidates.append(body.get("job_id"))
    if isinstance(body, list | tuple) and len(body) >= 2 and isinstance(body[1], dict):
        candidates.append(body[1].get("job_id"))
    return next((job_id for c in candidates if (job_id := valid_job_id(c)) is not None), None)


def _note_arrival(message: Message) -> None:
    """Record a session job's arrival now, in the order messages leave the queue: its task may get going
    later than the next message's, and the session must still run them in the order they were sent."""
    headers = message.headers if isinstance(message.headers, Mapping) else {}
    if headers.get("task") != TASK_PROCESS:
        return
    try:
        _args, kwargs, _embed = message.decode()
        request = parse_request((), kwargs)
    except Exception:
        return  # the task refuses it itself, with its error code
    if request.session_id is None:
        return
    try:
        runtime.main_process().sessions.arrived(request.session_id, request.job_id, request.session_seq)
    except Exception:  # then it runs in admission order, as it did before
        log.warning("could not record the arrival of job %s", request.job_id, exc_info=True)


def _task_name(message: Message) -> str:
    headers = message.headers if isinstance(message.headers, Mapping) else {}
    name = headers.get("task")
    return name[:200] if isinstance(name, str) else "<no task header>"


class Consumer(CeleryConsumer):
    """Celery's consumer with a guard in front of every task message and a record of every refusal."""

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Callable[[Message], Any]:
        """Celery's handler, behind a check of the message's shape."""
        handle: Callable[[Message], Any] = super().create_task_handler(*args, **kwargs)

        def on_task_received(message: Message) -> Any:
            try:
                problem = problem_of(message, self.app.tasks)
            except (DecodeError, UnicodeDecodeError) as exc:
                return self.on_decode_error(message, exc)
            except ContentDisallowed as exc:
                return self.on_invalid_task(None, message, exc)
            if problem is not None:
                return self.on_invalid_task(None, message, InvalidTaskError(problem))
            _note_arrival(message)
            try:
                return handle(message)
            except CONTENT_ERRORS as exc:  # headers that parse but make no sense (a bad eta, time limit...)
                return self.on_invalid_task(None, message, InvalidTaskError(f"{type(exc).__name__} in its request"))

        return on_task_received

    # Celery's own handlers log the body (up to 1 KiB of it) and record nothing; these log one line each.
    def on_invalid_task(self, body: Any, message: Message, exc: BaseException) -> None:
        """Reject (no requeue) a task message that cannot be run."""
        reason = "disallowed_content" if isinstance(exc, ContentDisallowed) else "malformed_message"
        self._refuse(message, reason, f"{_task_name(message)}: {exc}")
        message.reject_log_error(log, self._connection_errors())

    def on_decode_error(self, message: Message, exc: BaseException) -> None:
        """Drop a message whose body does not decode (acknowledged, as Celery does, so it cannot loop)."""
        self._refuse(message, "undecodable_message", f"{_task_name(message)}: {type(exc).__name__}")
        message.ack()

    def on_unknown_message(self, body: Any, message: Message) -> None:
        """Reject a message that is not a Celery task message at all."""
        self._refuse(message, "unknown_format", "not a Celery task message")
        message.reject_log_error(log, self._connection_errors())

    def on_unknown_task(self, body: Any, message: Message, exc: BaseException) -> None:
        """Celery's handling of an unregistered task name (reject, mark it failed), recorded."""
        self._refuse(message, "unknown_task", f"unregistered task {_task_name(message)}")
        message.reject_log_error(log, self._connection_errors())

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        errors: tuple[type[BaseException], ...] = getattr(self, "connection_errors", ())  # set by Celery at start
        return errors

    def _refuse(self, message: Message, reason: str, detail: str) -> None:
        job_id = job_id_of(message)
        log.error("refused a message on %s (%s): %s; job %s", _queue(message), reason, detail, job_id or "unknown")
        try:
            parts = runtime.main_process()
            parts.metrics.track_rejected_message(reason)
            parts.events.reject(reason, detail[:500], job_id)
        except Exception:  # recording must never take the consumer down with the message
            log.warning("could not record the refused message", exc_info=True)


def _queue(message: Message) -> str:
    info = message.delivery_info if isinstance(message.delivery_info, Mapping) else {}
    return str(info.get("routing_key") or info.get("queue") or "?")
