"""One blocking ``XREAD`` for every stream a gateway process serves, fanned out to its SSE connections.

A blocking read per connection would hold a Redis connection per open stream (redis-py's asyncio pool
stops at 100) and thousands of sockets for idle readers. The hub reads every subscribed stream in one
``XREAD BLOCK`` call on its own connection and puts each entry on the queue of every reader of that stream.

A reader subscribing to a stream the hub already follows from a later position gets the entries in between
with one ``XRANGE`` of its own; entries it sees twice (that catch-up overlaps what the hub delivers) are
dropped by ID, so each reader sees every entry after its start exactly once, in order. A new subscription
wakes the hub's read (the blocked call is cancelled and the read restarts with the new stream), so a new
stream's first event is not held back by an idle wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aredis

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class Subscription:
    """One reader's view of one stream: its entries after ``after``, each once, in order."""

    def __init__(self, hub: StreamHub, key: str, after: str) -> None:
        self.key = key
        self.last = after
        self._hub = hub
        self._queue: asyncio.Queue[Entry | BaseException] = asyncio.Queue()
        self._held: list[Entry] | None = None

    def deliver(self, item: Entry | BaseException) -> None:
        """Called by the hub (held back while the reader catches up, so older entries go first)."""
        if self._held is not None and not isinstance(item, BaseException):
            self._held.append(item)
        else:
            self._queue.put_nowait(item)

    def catching_up(self) -> None:
        """From now until ``caught_up``, hold what the hub delivers."""
        self._held = []

    def caught_up(self, older: list[Entry]) -> None:
        """Queue the catch-up's entries, then what the hub delivered meanwhile (overlaps drop by ID)."""
        held, self._held = self._held or [], None
        for entry in [*older, *held]:
            self._queue.put_nowait(entry)

    async def next(self, timeout_s: float) -> Entry | None:
        """The next entry, or ``None`` after ``timeout_s`` without one (time for a heartbeat)."""
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout_s)
            except TimeoutError:
                return None
            if isinstance(item, BaseException):
                raise item
            entry_id, _fields = item
            if _order(entry_id) > _order(self.last):  # the catch-up may have given it already
                self.last = entry_id
                return item

    def close(self) -> None:
        """Stop receiving."""
        self._hub.unsubscribe(self)


class StreamHub:
    """Follows every subscribed stream with one ``XREAD`` loop (started on first use, in the app's loop)."""

    def __init__(self, client: aredis.Redis, block_ms: int = 5000, count: int = 500) -> None:
        self._client = client
        self._block_ms = block_ms
        self._count = count
        self._readers: dict[str, set[Subscription]] = {}
        self._cursor: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def streams(self) -> int:
        """How many streams are followed now."""
        return len(self._readers)

    async def subscribe(self, key: str, after: str) -> Subscription:
        """Follow ``key`` after stream ID ``after``."""
        sub = Subscription(self, key, after)
        readers = self._readers.get(key)
        if readers is None:
            self._readers[key] = {sub}
            self._cursor[key] = after
            self._wake.set()
        else:
            readers.add(sub)
            if _order(after) < _order(self._cursor[key]):  # the hub is past this reader's start: catch up
                sub.catching_up()
                try:
                    raw: Any = await self._client.xrange(key, min=f"({after}", max="+")
                except BaseException:  # failed or cancelled (the client left): no reader may be left behind
                    self.unsubscribe(sub)
                    raise
                sub.caught_up([(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in raw])
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="eco2-gateway-hub")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub``; a stream nobody reads any more is no longer followed."""
        readers = self._readers.get(sub.key)
        if readers is None:
            return
        readers.discard(sub)
        if not readers:
            del self._readers[sub.key]
            del self._cursor[sub.key]

    async def close(self) -> None:
        """Stop the read loop and close the hub's connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while self._readers:
            self._wake.clear()
            cursors = dict(self._cursor)
            read = asyncio.ensure_future(self._read(cursors))
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                done, _ = await asyncio.wait({read, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (read, woken):
                    if not task.done():  # a new stream woke it, or the hub is closing
                        task.cancel()  # (redis-py drops the cancelled read's connection)
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await task
            if read not in done:
                continue
            try:
                reply = read.result()
            except Exception as exc:
                log.warning("gateway: reading the streams failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            self._dispatch(reply, cursors)

    async def _read(self, cursors: dict[str, str]) -> Any:
        return await self._client.xread(cursors, count=self._count, block=self._block_ms)  # type: ignore[arg-type]

    def _dispatch(self, reply: Any, cursors: dict[str, str]) -> None:
        for key_raw, entries in reply or []:
            key = _text(key_raw)
            readers = self._readers.get(key)
            if readers is None or self._cursor.get(key) != cursors.get(key):
                continue  # nobody reads it now, or it was dropped and followed again from elsewhere meanwhile
            for entry_id_raw, fields in entries:
                entry: Entry = (_text(entry_id_raw), {_text(k): _text(v) for k, v in fields.items()})
                self._cursor[key] = entry[0]
                for sub in list(readers):
                    sub.deliver(entry)


async def follow(hub: StreamHub, key: str, after: str, heartbeat_s: float) -> AsyncIterator[Entry | None]:
    """Entries of ``key`` after ``after`` through ``hub``; ``None`` after each idle ``heartbeat_s``."""
    sub = await hub.subscribe(key, after)
    try:
        while True:
            yield await sub.next(heartbeat_s)
    finally:
        sub.close()
