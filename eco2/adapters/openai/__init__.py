"""OpenAI (or any OpenAI-compatible server) through the official client: intent, streamed answers, vision
and images; what every OpenAI caller shares (the client, error translation).

Web search through OpenAI's hosted tool belongs to the ``web_search`` slice (``eco2.subagents.web_search``)."""
