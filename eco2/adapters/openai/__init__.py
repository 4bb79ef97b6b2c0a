"""OpenAI (or any OpenAI-compatible server) through the official client: intent, streamed answers, vision,
images and web search."""
