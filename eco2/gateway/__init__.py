"""The HTTP gateway: browsers and backends enqueue chats, read their streams (SSE) and cancel them.

It speaks only the public contract (docs/contract.md): it sends ``eco2.chat.process`` by name and reads
Redis, so it never imports the worker's graph, models or subagents, and one process holds thousands of
idle SSE connections on one event loop.
"""
