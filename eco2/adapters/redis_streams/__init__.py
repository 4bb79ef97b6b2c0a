"""Redis Streams implementation of the event stream port (writer with coalescing, reader, snapshot)."""

from eco2.adapters.redis_streams.events import RedisJobEvents, RedisStreamsEvents

__all__ = ["RedisJobEvents", "RedisStreamsEvents"]
