"""Intent classification with structured output; falls back to the offline classifier on failure.

The fallback keeps a chat answerable when the model is down or returns something unparsable: the intent
step must never be the reason a job fails. The request is Chat Completions with a ``json_schema`` response
format (the schema of :class:`IntentOutput`), sent through the official client; pydantic checks the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, Field, ValidationError

from eco2.adapters.openai.client import MODEL_BREAKER, Message, llm_run, sdk_client, translate
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.intents import Intent, IntentResult, IntentScore
from eco2.errors import UpstreamError
from eco2.ports.llm import IntentClassifierPort

log = logging.getLogger(__name__)

IntentName = Literal[
    "waste",
    "bulk_waste",
    "character",
    "location",
    "weather",
    "web_search",
    "collection_point",
    "recyclable_price",
    "image_generation",
    "general",
]

SYSTEM_PROMPT = """당신은 한국어 분리배출 도우미 '이코에코'의 의도 분류기입니다.
사용자 메시지를 다음 의도 중 하나 이상으로 분류하세요 (가장 중요한 것이 먼저, 최대 3개):
- waste: 특정 물건/재질을 어떻게 분리배출하는지 (수거함 종류, 세척, 라벨, 음식물 여부, 전지·형광등·의약품 등)
- bulk_waste: 가구·대형가전 등 대형폐기물 신고, 스티커, 수수료, 수거 절차
- character: 이코에코 캐릭터(이코, 페티, 메탈리, 페이피, 플리, 비니, 폼이, 글래시 등), 보상, 수집
- location: 근처 가게나 시설 찾기 (재활용센터, 제로웨이스트샵, 리필스테이션, 고물상 등)
- weather: 날씨, 비·눈, 예보 (오늘 배출해도 되는지 날씨 때문에 묻는 경우 포함)
- web_search: 뉴스, 최근 정책 변화, 행사 등 웹에서 최신 정보를 찾아야 하는 질문
- collection_point: 폐건전지·폐형광등·의류·폐의약품 수거함, 무인회수기 위치
- recyclable_price: 폐지·고철·캔·페트 등 재활용품 시세, kg당 가격
- image_generation: 그림, 포스터, 이미지 생성 요청
- general: 인사, 감사, 잡담, 서비스 소개, 일반 환경 상식
이전 대화가 주어지면 짧은 후속 질문("그럼 캔은?")은 이전 주제를 따릅니다.
confidence는 0과 1 사이 숫자입니다."""


class _Scored(BaseModel):
    intent: IntentName
    confidence: float = Field(ge=0.0, le=1.0)


class IntentOutput(BaseModel):
    """The structured output the model must return."""

    intents: list[_Scored] = Field(min_length=1, max_length=3)


RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "IntentOutput", "schema": IntentOutput.model_json_schema()},
}


class OpenAIIntentClassifier:
    """Implements ``IntentClassifierPort`` with a structured-output model call."""

    provider = "openai"

    def __init__(self, settings: Settings, fallback: IntentClassifierPort, breakers: Breakers) -> None:
        # One attempt, bounded: the offline classifier is right there, so a slow model only delays the chat.
        self._client = sdk_client(settings, settings.openai_intent_timeout_s)
        self._model = settings.openai_intent_model
        self._fallback = fallback
        self._breakers = breakers

    def classify(self, message: str, history: Sequence[str] = ()) -> IntentResult:
        """Ask the model; on any model failure use the offline classifier."""
        context = "\n".join(f"- {h}" for h in history[-4:])
        user = f"이전 사용자 메시지:\n{context}\n\n메시지: {message}" if context else f"메시지: {message}"
        messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
        try:
            with llm_run("intent_model", self._model, messages) as run:
                content = self._breakers.call(MODEL_BREAKER, self._ask, messages)
                run.end(outputs={"content": content})
        except UpstreamError as exc:
            log.warning("intent model failed (%s); using the offline classifier", exc)
            return self._fallback.classify(message, history)
        try:
            output = IntentOutput.model_validate_json(content or "")
        except ValidationError:
            log.warning("intent model returned no valid intents; using the offline classifier")
            return self._fallback.classify(message, history)
        scores: dict[Intent, float] = {}
        for item in output.intents:
            scores.setdefault(Intent(item.intent), item.confidence)
        return IntentResult(
            intents=tuple(IntentScore(intent, conf) for intent, conf in scores.items()),
            provider=self.provider,
        )

    def _ask(self, messages: list[Message]) -> str | None:
        """One structured-output call; failures translated (so the breaker counts only retryable ones)."""
        try:
            completion = self._client.chat.completions.create(
                model=self._model, messages=messages, temperature=0.0, response_format=RESPONSE_FORMAT
            )
        except Exception as exc:
            raise translate(exc) from None
        return completion.choices[0].message.content if completion.choices else None
