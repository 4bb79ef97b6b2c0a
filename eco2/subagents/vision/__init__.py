"""The ``vision`` slice: names the waste item in the user's photo so ``waste_rag`` can look it up.

| module | role |
| --- | --- |
| ``subagent.py`` | ``build(ctx, *, images=None)``: fetch the picture, ask the model, grade its confidence |
| ``openai_vision.py`` | the model call: Chat Completions with an image part and structured output (``OpenAIVision``) |

Shared, and so left in ``eco2.adapters``: the OpenAI client and its error translation (``openai/``) and the
SSRF-safe image fetcher (``safe_fetch/``, which ``image_generation`` uses too).
"""

from __future__ import annotations

from eco2.subagents.vision.subagent import ImageSource, OpenAIVisionSubagent, build

__all__ = ["ImageSource", "OpenAIVisionSubagent", "build"]
