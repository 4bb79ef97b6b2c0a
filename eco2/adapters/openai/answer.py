"""Streams the answer from an OpenAI-compatible chat model, grounded in the subagents' results.

Why the official SDK's raw event stream and not ``ChatOpenAI.stream`` or the SDK's typed stream: the answer
is the one model call whose cost grows with its length, and per chunk the SDK builds a pydantic
``ChatCompletionChunk`` by reflection (langchain then dumps it back into a dict and builds a message chunk).
Reading the server-sent events as lines costs a fraction of that (``bench/bench_model_client.py``). The SDK
still does everything else (auth, base URL, timeouts, status errors); the request is the same Chat
Completions call, and LangSmith records it as an ``llm`` run.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

from eco2.adapters.openai.client import MODEL_BREAKER, Message, llm_run, sdk_client
from eco2.adapters.openai.errors import raise_translated
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.domain.registry import label
from eco2.domain.subagents import ResultStatus
from eco2.errors import RetryableError, UpstreamError
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
        elif result.summary:  # found nothing, or failed, in its own words ("…수거함은 주민센터에 있어요")
            lines.append(f"[{label(result.name)} - 참고]\n{result.summary}")
    missing = ", ".join(label(name) for name in answer_input.missing)
    if missing:
        lines.append(f"가져오지 못한 정보: {missing}")
    return "\n\n".join(lines) or "(조사 결과 없음)"


def build_messages(answer_input: AnswerInput) -> list[Message]:
    """System prompt, bounded history, the research results and the question (Chat Completions messages)."""
    messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
    if answer_input.summary:
        messages.append({"role": "system", "content": f"이전 대화 요약:\n{answer_input.summary}"})
    for turn in answer_input.history:
        messages.append({"role": "user", "content": turn.user})
        messages.append({"role": "assistant", "content": turn.assistant})
    question = f"조사 결과:\n{_context(answer_input)}\n\n질문: {answer_input.message}"
    messages.append({"role": "user", "content": question})
    return messages


def deltas(lines: Iterator[str]) -> Iterator[tuple[str, bool]]:
    """``(content, finished)`` of each Chat Completions stream event in ``lines`` (server-sent events).

    Only the first choice counts; an ``error`` event (some compatible servers report a failure mid-stream
    that way) is a retryable failure.
    """
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, ``event:`` lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event: dict[str, Any] = json.loads(data)
        if event.get("error"):
            raise RetryableError("openai: the answer stream reported an error")
        for choice in event.get("choices") or ():
            if choice.get("index", 0) == 0:
                content = (choice.get("delta") or {}).get("content")
                yield (content if isinstance(content, str) else ""), bool(choice.get("finish_reason"))


class OpenAIAnswerWriter:
    """Implements ``AnswerWriterPort`` by streaming Chat Completions through the official client."""

    provider = "openai"

    def __init__(self, settings: Settings, breakers: Breakers) -> None:
        self._client = sdk_client(settings, settings.openai_timeout_s, max_retries=1)
        self._model = settings.openai_model
        self._breakers = breakers

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        """Yield content deltas; model errors surface as ``UpstreamError``.

        With LangSmith tracing on, the call is an ``llm`` run under the graph's ``answer`` step.
        """
        messages = build_messages(answer_input)
        parts: list[str] = []
        with llm_run("answer_model", self._model, messages) as run:
            for piece in self._deltas(messages):
                parts.append(piece)
                yield piece
            run.end(outputs={"content": "".join(parts)})

    def _deltas(self, messages: list[Message]) -> Iterator[str]:
        """The request and its event stream; the wait for the first event goes through the model's breaker.

        A model that refuses, fails or hangs before answering counts against the breaker (translated first,
        so only retryable failures count: a 401 says nothing about its health), and once the breaker is open
        the answer goes to the composer at once instead of after a timeout. A stream that stops without a
        ``finish_reason`` was cut (e.g. the connection dropped): that is a failure too, or a truncated answer
        would be delivered as if it were complete.
        """
        with contextlib.ExitStack() as stack:

            def start() -> tuple[Iterator[tuple[str, bool]], tuple[str, bool] | None]:
                try:
                    response = stack.enter_context(
                        self._client.chat.completions.with_streaming_response.create(
                            model=self._model, messages=messages, stream=True, temperature=0.3
                        )
                    )
                    events = deltas(response.iter_lines())
                    return events, next(events, None)
                except UpstreamError:
                    raise
                except Exception as exc:
                    raise_translated(exc)

            events, first = self._breakers.call(MODEL_BREAKER, start)
            finished = False
            try:
                for content, done in itertools.chain([first] if first else [], events):
                    finished = finished or done
                    if content:
                        yield content
            except UpstreamError:
                raise
            except Exception as exc:
                raise_translated(exc)
        if not finished:
            raise RetryableError("openai: the answer stream ended without a finish_reason")
