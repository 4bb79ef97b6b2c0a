"""The ``image_generation`` slice: draws a recycling-themed picture with OpenAI image generation.

| module | role |
| --- | --- |
| ``subagent.py`` | ``build(ctx)``, the prompt builder (``build_prompt``) and the image store (``ImageFiles``) |
| ``openai_images.py`` | ``POST /v1/images/generations`` through the official client (``OpenAIImages``) |

Shared, and so left in ``eco2.adapters``: the OpenAI client and its error translation (``openai/``) and the
image type sniffing of ``safe_fetch/`` (``vision`` fetches pictures through it).
"""

from __future__ import annotations

from eco2.subagents.image_generation.subagent import ImageFiles, OpenAIImageGeneration, build, build_prompt

__all__ = ["ImageFiles", "OpenAIImageGeneration", "build", "build_prompt"]
