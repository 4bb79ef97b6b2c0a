"""OpenAI (or any OpenAI-compatible server) through langchain-openai: intent and streamed answers."""
