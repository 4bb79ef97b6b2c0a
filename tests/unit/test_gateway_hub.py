"""The gateway's stream hub against a real Redis: one read loop for every open stream, each reader getting
every entry after its start once and in order, far more streams than a connection pool holds."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aredis

from eco2.gateway.hub import StreamHub, follow

pytestmark = pytest.mark.redis


async def _collect(hub: StreamHub, key: str, after: str, n: int) -> list[str]:
    got: list[str] = []
    async for entry in follow(hub, key, after, heartbeat_s=5):
        assert entry is not None, f"{key}: idle before {n} entries"
        got.append(entry[1]["n"])
        if len(got) == n:
            return got
    return got


def test_readers_at_different_positions_of_one_stream_each_get_every_later_entry_once(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    ids = [sync.xadd("s", {"n": str(n)}).decode() for n in range(3)]

    async def scenario() -> tuple[list[str], list[str], int]:
        hub = StreamHub(aredis.Redis.from_url(redis_url), block_ms=200)
        late = asyncio.create_task(_collect(hub, "s", ids[1], 3))  # the hub starts after entry 1
        await asyncio.sleep(0.3)
        early = asyncio.create_task(_collect(hub, "s", "0-0", 5))  # a reader resuming from the start
        await asyncio.sleep(0.3)
        for n in range(3, 5):
            sync.xadd("s", {"n": str(n)})
        result = await asyncio.wait_for(asyncio.gather(late, early), 10)
        followed = hub.streams
        await hub.close()
        return result[0], result[1], followed

    late, early, followed = asyncio.run(scenario())
    assert late == ["2", "3", "4"]
    assert early == ["0", "1", "2", "3", "4"]
    assert followed == 0  # nobody reads it any more: the hub stops following it


def test_hundreds_of_streams_are_followed_with_one_connection(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    keys = [f"k{n}" for n in range(300)]  # more than redis-py's default pool of 100 connections

    async def scenario() -> tuple[list[list[str]], int]:
        client = aredis.Redis.from_url(redis_url)
        hub = StreamHub(client, block_ms=200)
        tasks = [asyncio.create_task(_collect(hub, key, "0-0", 2)) for key in keys]
        await asyncio.sleep(0.5)
        for key in keys:
            sync.xadd(key, {"n": "a"})
            sync.xadd(key, {"n": "b"})
        got = await asyncio.wait_for(asyncio.gather(*tasks), 20)
        connections = len(client.connection_pool._in_use_connections) + len(
            client.connection_pool._available_connections
        )
        await hub.close()
        return got, connections

    got, connections = asyncio.run(scenario())
    assert got == [["a", "b"]] * len(keys)
    assert connections <= 2


def test_a_reader_joining_while_the_stream_moves_still_gets_every_entry_in_order(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    first = sync.xadd("m", {"n": "0"}).decode()

    async def scenario() -> list[str]:
        hub = StreamHub(aredis.Redis.from_url(redis_url), block_ms=200)
        ahead = asyncio.create_task(_collect(hub, "m", first, 40))  # the hub follows "m" from entry 0
        await asyncio.sleep(0.2)

        async def write() -> None:
            for n in range(1, 41):
                sync.xadd("m", {"n": str(n)})
                await asyncio.sleep(0.002)

        writer = asyncio.create_task(write())
        await asyncio.sleep(0.03)  # mid-stream: a second tab opens from the start
        joined = await asyncio.wait_for(_collect(hub, "m", "0-0", 41), 10)
        await writer
        await asyncio.wait_for(ahead, 10)
        await hub.close()
        return joined

    assert asyncio.run(scenario()) == [str(n) for n in range(41)]


def test_a_stream_id_redis_would_refuse_is_refused_before_it_reaches_the_shared_read() -> None:
    from eco2.gateway.streams import valid_stream_id

    assert valid_stream_id("1700000000000-0")
    assert valid_stream_id(f"{2**64 - 1}-{2**64 - 1}")
    assert not valid_stream_id("99999999999999999999-0")
    assert not valid_stream_id("1-99999999999999999999")
    assert not valid_stream_id("abc")
