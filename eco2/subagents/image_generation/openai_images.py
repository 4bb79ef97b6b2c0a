"""OpenAI image generation (``POST /v1/images/generations``) through the official ``openai`` client.

GPT image models always answer with ``b64_json``; older or compatible servers may answer with a ``url``.
Both are returned as they came; storing the bytes is the caller's business (``GeneratedImage``), so this
adapter stays a thin, typed boundary that translates the SDK's errors into eco2's tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import openai
from openai.types import ImagesResponse

from eco2.adapters.openai.errors import raise_translated
from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import PermanentError

SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
"""Sizes every GPT image model accepts."""


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One generated image: exactly one of ``url`` and ``b64_json`` is set."""

    url: str | None = None
    b64_json: str | None = field(default=None, repr=False)
    revised_prompt: str | None = None
    output_format: str | None = None
    """``png``/``webp``/``jpeg`` when the server says so (GPT image models do)."""


class OpenAIImages:
    """Generates one image per call through the upstream's breaker."""

    def __init__(self, client: openai.OpenAI, model: str, breakers: Breakers, upstream: str = "openai_images") -> None:
        self._client = client
        self.model = model
        self._breakers = breakers
        self._upstream = upstream

    def generate(self, prompt: str, size: str = "1024x1024") -> GeneratedImage | None:
        """The generated image, or ``None`` when the server answered with no image at all."""
        if size not in SIZES:
            raise PermanentError(f"{self._upstream}: unsupported size {size!r}")
        return self._breakers.call(self._upstream, self._call, prompt, size)

    def _call(self, prompt: str, size: str) -> GeneratedImage | None:
        try:
            response = self._client.images.generate(model=self.model, prompt=prompt, size=size, n=1)
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a 200 whose body is not JSON
            raise_translated(exc, self._upstream)
        return self._first(response)

    def _first(self, response: ImagesResponse) -> GeneratedImage | None:
        if not isinstance(response, ImagesResponse):
            raise PermanentError(f"{self._upstream}: malformed response")
        if not response.data:
            return None
        image = response.data[0]
        if image.b64_json:
            return GeneratedImage(
                b64_json=image.b64_json, revised_prompt=image.revised_prompt, output_format=response.output_format
            )
        if image.url:
            if not image.url.startswith(("https://", "http://")):
                raise PermanentError(f"{self._upstream}: malformed response (image url)")
            return GeneratedImage(url=image.url, revised_prompt=image.revised_prompt)
        return None
