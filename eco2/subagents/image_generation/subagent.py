"""The ``image_generation`` subagent: draws a recycling-themed picture with OpenAI image generation.

The user's Korean request becomes an image prompt with a style picked from its words (poster, character,
comic, sticker, infographic, or a friendly illustration) and an instruction to write any in-image text in
correct Hangul. The result's ``data`` is what the orchestrator copies into the ``done`` event as ``image``:

- ``{"kind": "url", "url": ...}`` when the server answered with a URL (compatible servers, legacy models);
- ``{"kind": "file", "ref": "eco2-image://<uuid>.png", "path": ...}`` when it answered with ``b64_json``
  (GPT image models always do): the bytes are stored under ``ECO2_STATE_DIR/images/``.

Without ``OPENAI_API_KEY`` the request is answered at once with which setting enables it (:func:`without_key`).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eco2.adapters.openai.client import sdk_client
from eco2.adapters.safe_fetch import sniff
from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import PermanentError
from eco2.ports.subagents import SubagentPort
from eco2.subagents.context import SubagentContext
from eco2.subagents.image_generation.openai_images import GeneratedImage, OpenAIImages
from eco2.subagents.unavailable import NotConfigured

NAME = "image_generation"
REF_SCHEME = "eco2-image://"
"""Stored images are referenced as ``eco2-image://<file name>``, resolved under ``state_dir/images``."""
MAX_IMAGE_BYTES = 25 * 1024 * 1024
_MAX_SUBJECT_CHARS = 300
_MARGIN_S = 2.0
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
_DOCS_URL = "https://platform.openai.com/docs/guides/image-generation"
SETTING = "OPENAI_API_KEY"
"""The setting that enables image generation (the model: ``ECO2_OPENAI_IMAGE_MODEL``)."""


@dataclass(frozen=True, slots=True)
class ImageStyle:
    """A kind of picture the user can ask for."""

    id: str
    label: str
    """Korean name used in the summary."""
    words: tuple[str, ...]
    """Words of the request that choose this style (the first style with a match wins)."""
    prompt: str
    size: str


STYLES: tuple[ImageStyle, ...] = (
    ImageStyle(
        "poster",
        "포스터",
        ("포스터", "홍보물", "전단", "캠페인"),
        "A vertical recycling-campaign poster with a clear headline area and bold, simple shapes",
        "1024x1536",
    ),
    ImageStyle(
        "comic",
        "만화",
        ("만화", "웹툰", "네컷", "4컷"),
        "A short four-panel comic strip with simple, expressive characters",
        "1024x1536",
    ),
    ImageStyle(
        "character",
        "캐릭터 일러스트",
        ("캐릭터", "마스코트", "이코"),
        "A cute, friendly mascot character illustration in a soft, rounded style",
        "1024x1024",
    ),
    ImageStyle(
        "sticker",
        "스티커",
        ("스티커", "아이콘", "이모티콘"),
        "A flat sticker-style icon with a thick white outline on a plain background",
        "1024x1024",
    ),
    ImageStyle(
        "infographic",
        "인포그래픽",
        ("인포그래픽", "안내문", "안내도", "순서", "방법"),
        "A clean, step-by-step infographic with numbered panels and simple pictograms",
        "1024x1536",
    ),
)
DEFAULT_STYLE = ImageStyle("illustration", "일러스트", (), "A warm, friendly flat illustration", "1024x1024")

_REQUEST_WORDS = re.compile(
    r"(이미지|그림|사진)?\s*(을|를)?\s*(그려|만들어|생성해|제작해|디자인해)\s*"
    r"(줘|주세요|줄래|줄래요|봐|보세요|줄 수 있어\??)?[\s.!?~]*$"
)


@dataclass(frozen=True, slots=True)
class ImagePrompt:
    """The prompt sent to the model, with the style and size chosen for it."""

    text: str
    style: ImageStyle
    subject: str


def build_prompt(message: str, item: str | None = None) -> ImagePrompt:
    """A Korean-aware image prompt for ``message`` (and the item from vision, when there is one)."""
    style = next((s for s in STYLES if any(w in message for w in s.words)), DEFAULT_STYLE)
    subject = _REQUEST_WORDS.sub("", " ".join(message.split())).strip() or "분리배출과 재활용"
    subject = subject[:_MAX_SUBJECT_CHARS]
    lines = [
        f"{style.prompt} for Eco², a Korean recycling assistant.",
        f'Subject, as the user wrote it in Korean: "{subject}".',
    ]
    if item:
        lines.append(f'Feature this waste item: "{item}", shown being sorted correctly.')
    lines += [
        "Theme: correct waste separation and recycling in Korea (rinse, remove labels, sort by material).",
        "Bright, clean eco-friendly colours; friendly and suitable for all ages.",
        "If any text appears, write it in Korean (Hangul), short and spelled correctly; avoid English text.",
        "No real people, brand names, logos or trademarks.",
    ]
    return ImagePrompt(" ".join(lines), style, subject)


class ImageGenerator(Protocol):
    """Makes one image (``OpenAIImages`` in production)."""

    model: str

    def generate(self, prompt: str, size: str = "1024x1024") -> GeneratedImage | None:
        """The image for ``prompt``, or ``None`` when the server produced none."""
        ...


class ImageFiles:
    """Stores generated image bytes under one directory and names them by ``eco2-image://`` reference."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, data: bytes) -> tuple[str, Path, str]:
        """Write ``data`` atomically; ``(reference, path, media type)``."""
        media_type = sniff(data[:16])
        if media_type is None:
            raise PermanentError(f"{NAME}: the generated data is not an image")
        name = f"{uuid.uuid4().hex}{_EXTENSIONS[media_type]}"
        path = self.directory / name
        tmp = self.directory / f".{name}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)  # readers never see a half-written file
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PermanentError(f"{NAME}: could not store the image ({type(exc).__name__})") from exc
        return f"{REF_SCHEME}{name}", path, media_type

    def resolve(self, ref: str) -> Path:
        """The file of an ``eco2-image://`` reference (for whoever serves the images)."""
        name = ref.removeprefix(REF_SCHEME)
        if not ref.startswith(REF_SCHEME) or not name or "/" in name or name.startswith("."):
            raise ValueError("not an eco2 image reference")
        return self.directory / name


class OpenAIImageGeneration:
    """Implements ``SubagentPort`` for ``image_generation``."""

    def __init__(self, generator: ImageGenerator, files: ImageFiles) -> None:
        self._generator = generator
        self._files = files

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Generate one image for the request and say where it is."""
        prompt = build_prompt(query.message, query.hints.get("item"))
        image = self._generator.generate(prompt.text, prompt.style.size)
        model = self._generator.model
        meta: dict[str, Any] = {
            "model": model,
            "size": prompt.style.size,
            "style": prompt.style.id,
            "prompt": prompt.text,
        }
        if image is None:
            return SubagentResult(NAME, ResultStatus.EMPTY, data=meta, error="no image in the response")
        if image.revised_prompt:
            meta["revised_prompt"] = image.revised_prompt
        what = f"요청하신 {prompt.style.label} 이미지를 만들었어요"
        credit = f"OpenAI 이미지 생성({model})으로 만든 그림이에요."
        if image.url:
            data = {"kind": "url", "url": image.url, **meta}
            summary = f"{what}: {image.url}\n{credit} 링크는 일정 시간이 지나면 만료될 수 있어요."
            return SubagentResult(NAME, ResultStatus.OK, summary, data, (Source("생성된 이미지", image.url),))
        ref, path, media_type = self._files.save(_decode(image.b64_json or ""))
        data = {"kind": "file", "ref": ref, "path": str(path), "media_type": media_type, **meta}
        data["bytes"] = path.stat().st_size
        summary = f"{what}. 이미지는 답변과 함께 전달돼요.\n{credit}"
        return SubagentResult(
            NAME, ResultStatus.OK, summary, data, (Source(f"OpenAI 이미지 생성 ({model})", _DOCS_URL),)
        )


def _decode(b64: str) -> bytes:
    if len(b64) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise PermanentError(f"{NAME}: the generated image is too large")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PermanentError(f"{NAME}: malformed response (b64_json is not base64)") from exc


def build(ctx: SubagentContext) -> SubagentPort:
    """The image_generation subagent for ``ctx`` (no I/O: the image folder is created on first save).

    The request timeout is the registry's soft limit minus a margin, not ``ECO2_OPENAI_TIMEOUT_S``: that
    setting is sized for text answers, and image generation regularly takes longer; a timeout that fires
    before the server finishes would still be billed and then retried.
    """
    settings = ctx.settings
    if settings.openai_api_key is None:
        return NotConfigured(NAME, f"{SETTING} is not set", known=without_key)
    client = sdk_client(settings, max(1.0, spec_for(NAME).timeout_s - _MARGIN_S))
    generator = OpenAIImages(client, settings.openai_image_model, ctx.breakers)
    return OpenAIImageGeneration(generator, ImageFiles(settings.state_dir / "images"))


def without_key(query: SubagentQuery) -> SubagentResult:
    """Without the key: which setting enables image generation.

    ``empty`` rather than ``ok``: an ``ok`` result's data is the ``done`` event's ``image`` (and clients read
    it as one), and there is none. Without the key the answer is always the offline composer's, which shows
    an empty result's summary.
    """
    summary = (
        f"이미지 생성은 아직 연결되지 않아 그림을 만들 수 없어요. {SETTING}를 설정하면 OpenAI 이미지 생성"
        "(모델은 ECO2_OPENAI_IMAGE_MODEL)으로 분리배출 포스터·캐릭터·인포그래픽 같은 그림을 만들어 드릴 수 있어요."
    )
    data = {"source": "not_configured", "setting": SETTING}
    return SubagentResult(NAME, ResultStatus.EMPTY, summary=summary, data=data, error=f"{SETTING} is not set")
