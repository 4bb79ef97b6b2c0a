"""OpenAI (or any OpenAI-compatible server) through the official client: the chat model's intent and
streamed answers, and what every OpenAI caller shares (``client.sdk_client``, ``errors``).

Vision, image generation and web search each belong to their subagent's slice (``eco2.subagents.vision``,
``eco2.subagents.image_generation``, ``eco2.subagents.web_search``)."""
