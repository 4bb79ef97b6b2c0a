"""Streams the answer from ``ChatOpenAI``, grounded in the subagents' results."""

from __future__ import annotations

from collections.abc import Iterator

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from eco2.adapters.offline.composer import label
from eco2.adapters.openai.client import chat_model, translate
from eco2.config import Settings
from eco2.domain.subagents import ResultStatus
from eco2.errors import RetryableError
from eco2.ports.llm import AnswerInput

SYSTEM_PROMPT = """당신은 이코에코(Eco²)의 분리배출 도우미 '이코'입니다. 한국어로 친절하고 간결하게 답하세요.
- 아래 '조사 결과'에 있는 사실만 근거로 구체적인 배출 방법을 단계별로 안내하세요.
- 조사 결과에 없는 내용은 지어내지 말고, 지역마다 다를 수 있으면 그렇게 말하세요.
- '가져오지 못한 정보'가 있으면 답변 끝에 무엇이 빠졌는지 한 문장으로 알려주세요.
- 출처가 있으면 마지막에 짧게 밝히세요."""


def _context(answer_input: AnswerInput) -> str:
    lines = []
    for result in answer_input.results:
        if result.status is ResultStatus.OK and result.summary:
            lines.append(f"[{label(result.name)}]\n{result.summary}")
            lines.extend(f"출처: {s.title} {s.url}".rstrip() for s in result.sources)
        elif result.status is ResultStatus.NEEDS_INPUT and result.summary:
            lines.append(f"[{label(result.name)} - 사용자에게 물어볼 것]\n{result.summary}")
    missing = ", ".join(label(name) for name in answer_input.missing)
    if missing:
        lines.append(f"가져오지 못한 정보: {missing}")
    return "\n\n".join(lines) or "(조사 결과 없음)"


def build_messages(answer_input: AnswerInput) -> list[BaseMessage]:
    """System prompt, bounded history, the research results and the question."""
    messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT)]
    if answer_input.summary:
        messages.append(SystemMessage(f"이전 대화 요약:\n{answer_input.summary}"))
    for turn in answer_input.history:
        messages.append(HumanMessage(turn.user))
        messages.append(AIMessage(turn.assistant))
    messages.append(HumanMessage(f"조사 결과:\n{_context(answer_input)}\n\n질문: {answer_input.message}"))
    return messages


class OpenAIAnswerWriter:
    """Implements ``AnswerWriterPort`` by streaming ``ChatOpenAI``."""

    provider = "openai"

    def __init__(self, settings: Settings) -> None:
        self._model = chat_model(settings, settings.openai_model, streaming=True)

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        """Yield content deltas; model errors surface as ``UpstreamError``.

        A stream that stops without a ``finish_reason`` was cut (e.g. the connection dropped): that is a
        failure too, or a truncated answer would be delivered as if it were complete.
        """
        finished = False
        try:
            for chunk in self._model.stream(build_messages(answer_input)):
                content = chunk.content
                if isinstance(content, str) and content:
                    yield content
                finished = finished or bool(chunk.response_metadata.get("finish_reason"))
        except Exception as exc:
            raise translate(exc) from exc
        if not finished:
            raise RetryableError("openai: the answer stream ended without a finish_reason")
