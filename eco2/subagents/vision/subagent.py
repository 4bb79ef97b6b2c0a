"""The ``vision`` subagent: names the waste item in the user's photo so waste_rag can look it up.

The orchestrator runs it alone in round one when a message comes with ``image_url``; an OK result's
``data["item"]`` (a short Korean name such as "페트병") becomes waste_rag's ``hints["item"]``. eco2
downloads the picture itself through :class:`SafeImageFetcher` (no SSRF, bounded size) and sends the bytes
to an OpenAI vision model as a data URL. Statuses:

- OK: an item recognised with confidence of at least ``MIN_CONFIDENCE``;
- WEAK: an item named, but with less confidence (the answer then asks the user to name it);
- EMPTY: no waste item in the picture, the model declined to look, or no image came at all;
- not configured without ``OPENAI_API_KEY`` (the composer then asks the user to name the item).
"""

from __future__ import annotations

from typing import Protocol

from eco2.adapters.openai.client import sdk_client
from eco2.adapters.safe_fetch import DEFAULT_TIMEOUT_S, FetchedImage, SafeImageFetcher
from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.unavailable import NotConfigured
from eco2.subagents.vision.openai_vision import OpenAIVision, Recognition

NAME = "vision"
MIN_CONFIDENCE = 0.5
"""Below this the item is reported WEAK: a wrong item would give confidently wrong disposal rules."""
_SOURCE_URL = "https://platform.openai.com/docs/guides/images-vision"
_MARGIN_S = 1.0


class ImageSource(Protocol):
    """Where the picture's bytes come from (``SafeImageFetcher`` in production)."""

    def fetch(self, url: str) -> FetchedImage:
        """Download ``url`` or raise an ``UpstreamError``."""
        ...


class Recogniser(Protocol):
    """The model that looks at the picture (``OpenAIVision`` in production)."""

    model: str

    def recognise(self, image: FetchedImage, message: str) -> Recognition:
        """What waste item ``image`` shows, given the user's ``message`` as context."""
        ...


def particle_ro(word: str) -> str:
    """The Korean particle "(으)로" that fits ``word``: 페트병 -> 으로, 우유 -> 로, 유리컵 -> 으로, 캔 -> 으로."""
    last = word[-1:]
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
        return "로" if final in (0, 8) else "으로"  # no final consonant, or ㄹ
    return "(으)로"


class OpenAIVisionSubagent:
    """Implements ``SubagentPort`` for ``vision``."""

    def __init__(self, images: ImageSource, recogniser: Recogniser) -> None:
        self._images = images
        self._recogniser = recogniser

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Fetch the picture safely, ask the model, and grade its answer."""
        if not query.image_url:
            return SubagentResult(NAME, ResultStatus.EMPTY, error="no image_url in the query")
        image = self._images.fetch(query.image_url)
        found = self._recogniser.recognise(image, query.message)
        model = self._recogniser.model
        source = (Source(f"OpenAI 이미지 인식 ({model})", _SOURCE_URL),)
        meta = {"model": model, "image_bytes": image.size, "media_type": image.media_type}
        if found.refused or not found.is_waste or not found.item:
            summary = "사진에서 버릴 물건을 찾지 못했어요."
            if found.description and not found.refused:
                summary += f" (사진 내용: {found.description})"
            data = {**meta, "is_waste": False, "refused": found.refused, "description": found.description}
            return SubagentResult(NAME, ResultStatus.EMPTY, summary=summary, data=data, sources=source)
        data = {
            **meta,
            "item": found.item,
            "confidence": round(found.confidence, 3),
            "material": found.material,
            "category": found.category,
            "description": found.description,
        }
        percent = f"{found.confidence:.0%}"
        if found.confidence < MIN_CONFIDENCE:
            summary = (
                f"사진 속 물건이 '{found.item}'인지 확실하지 않아요 (OpenAI {model} 이미지 인식, 확신도 {percent})."
            )
            return SubagentResult(NAME, ResultStatus.WEAK, summary=summary, data=data, sources=source)
        material = f" (재질: {found.material})" if found.material else ""
        summary = (
            f"사진 속 물건은 '{found.item}'{particle_ro(found.item)} 보여요{material}. "
            f"출처: OpenAI {model} 이미지 인식, 확신도 {percent}."
        )
        return SubagentResult(NAME, ResultStatus.OK, summary=summary, data=data, sources=source)


def build(ctx: SubagentContext, *, images: ImageSource | None = None) -> SubagentPort:
    """The vision subagent for ``ctx``; ``images`` overrides the fetcher (tests allow their local server).

    Time budget: the fetch gets at most ``ECO2_UPSTREAM_TIMEOUT_S`` (5 s by default), the model the rest of
    the registry's soft limit, and never more than ``ECO2_OPENAI_TIMEOUT_S``.
    """
    settings = ctx.settings
    if settings.openai_api_key is None:
        return NotConfigured(NAME, "OPENAI_API_KEY is not set")
    fetch_timeout = min(settings.upstream_timeout_s, DEFAULT_TIMEOUT_S)
    budget = spec_for(NAME).timeout_s - fetch_timeout - _MARGIN_S
    client = sdk_client(settings, max(1.0, min(settings.openai_timeout_s, budget)))
    recogniser = OpenAIVision(client, settings.openai_vision_model, ctx.breakers)
    return OpenAIVisionSubagent(images or SafeImageFetcher(timeout_s=fetch_timeout), recogniser)
