"""Value types of the chat domain: intents, requests, events and subagent results (no I/O here)."""
