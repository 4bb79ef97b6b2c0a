"""OpenAI vision through the official ``openai`` client: names the waste item in a photo.

Why Chat Completions (an ``image_url`` content part plus a ``json_schema`` response format) rather than the
Responses API: every OpenAI-compatible server that ``OPENAI_BASE_URL`` may point at (vLLM, Ollama,
LiteLLM, Azure) speaks Chat Completions with image parts and structured output, while the Responses API
is OpenAI-only; the rest of eco2 (intent, answers) already talks Chat Completions to the same server.

The image always travels as a ``data:`` URL of bytes eco2 fetched itself (``eco2.adapters.safe_fetch``),
so the provider never fetches a user-controlled URL.

The official client comes from ``eco2.adapters.openai.client.sdk_client``; errors are translated by
``eco2.adapters.openai.errors`` like every other OpenAI caller's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from eco2.adapters.openai.errors import raise_translated
from eco2.adapters.resilience.breakers import Breakers
from eco2.adapters.safe_fetch import FetchedImage
from eco2.errors import PermanentError

CATEGORIES: tuple[str, ...] = (
    "battery",
    "bulky",
    "clear_pet",
    "clothing",
    "food_waste",
    "general",
    "glass",
    "hazardous",
    "lamp",
    "large_electronics",
    "medicine",
    "metal",
    "non_combustible",
    "not_food_waste",
    "paper",
    "paper_pack",
    "plastic",
    "small_electronics",
    "styrofoam",
    "vinyl",
    "unknown",
)
"""The waste corpus's category ids (``eco2/data/waste``) plus ``unknown``; a test keeps them in sync."""

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "is_waste": {"type": "boolean", "description": "사진에 버리거나 분리배출할 물건이 있는지"},
        "item": {"type": "string", "description": "가장 눈에 띄는 물건의 짧은 한국어 일반 명칭 (예: 페트병, 우유팩)"},
        "material": {"type": "string", "description": "주된 재질 (예: 플라스틱, 종이, 유리); 모르면 빈 문자열"},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "confidence": {"type": "number", "description": "0과 1 사이의 확신도"},
        "description": {"type": "string", "description": "사진 내용 한 문장 요약 (한국어)"},
    },
    "required": ["is_waste", "item", "material", "category", "confidence", "description"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = (
    "당신은 한국의 분리배출 도우미 '이코에코'의 이미지 인식기입니다. 사진에서 사용자가 버리려는 물건 하나를 "
    "찾아 한국에서 흔히 쓰는 짧은 일반 명칭(예: 페트병, 우유팩, 캔, 스티로폼 상자, 건전지, 깨진 유리컵)으로 "
    "답하세요. 상표명 대신 일반 명칭을 쓰고, 여러 물건이 있으면 사용자의 메시지가 가리키는 것, 없으면 가장 "
    "큰 것을 고르세요. 버릴 물건이 없으면(사람, 풍경, 동물, 글자만 있는 사진 등) is_waste를 false로, item을 "
    "빈 문자열로 하세요. category는 주어진 목록에서 고르고, 확실하지 않으면 confidence를 낮게 주세요."
)


@dataclass(frozen=True, slots=True)
class Recognition:
    """What the model saw; ``refused`` when it declined to look at the picture."""

    is_waste: bool
    item: str
    material: str
    category: str
    confidence: float
    description: str
    refused: bool = False


class OpenAIVision:
    """Asks a vision-capable chat model what waste item a fetched image shows."""

    def __init__(self, client: openai.OpenAI, model: str, breakers: Breakers, upstream: str = "openai_vision") -> None:
        self._client = client
        self.model = model
        self._breakers = breakers
        self._upstream = upstream

    def recognise(self, image: FetchedImage, message: str) -> Recognition:
        """One structured-output call through the upstream's breaker."""
        return self._breakers.call(self._upstream, self._call, image, message)

    def _call(self, image: FetchedImage, message: str) -> Recognition:
        user_text = "이 사진 속 버릴 물건이 무엇인지 알려주세요."
        if message.strip():
            user_text += f"\n사용자 메시지: {message.strip()[:300]}"
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": user_text},
                            {"type": "image_url", "image_url": {"url": image.data_url(), "detail": "low"}},
                        ],
                    },
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "waste_item", "strict": True, "schema": RESPONSE_SCHEMA},
                },
                max_completion_tokens=300,
            )
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a 200 whose body is not JSON
            raise_translated(exc, self._upstream)
        return self._parse(completion)

    def _parse(self, completion: ChatCompletion) -> Recognition:
        choices = completion.choices
        if not choices:
            raise PermanentError(f"{self._upstream}: malformed response (no choices)")
        choice = choices[0]
        msg = choice.message
        if msg.refusal or choice.finish_reason == "content_filter":
            return Recognition(False, "", "", "unknown", 0.0, "", refused=True)
        if choice.finish_reason == "length":
            raise PermanentError(f"{self._upstream}: malformed response (truncated)")
        try:
            raw = json.loads(msg.content or "")
        except json.JSONDecodeError as exc:
            raise PermanentError(f"{self._upstream}: malformed response (not JSON)") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("is_waste"), bool):
            raise PermanentError(f"{self._upstream}: malformed response (schema)")
        try:
            confidence = min(max(float(raw.get("confidence", 0.0)), 0.0), 1.0)
        except (TypeError, ValueError) as exc:
            raise PermanentError(f"{self._upstream}: malformed response (confidence)") from exc
        category = str(raw.get("category") or "unknown")
        return Recognition(
            is_waste=raw["is_waste"],
            item=str(raw.get("item") or "").strip()[:40],
            material=str(raw.get("material") or "").strip()[:40],
            category=category if category in CATEGORIES else "unknown",
            confidence=confidence,
            description=str(raw.get("description") or "").strip()[:200],
        )
