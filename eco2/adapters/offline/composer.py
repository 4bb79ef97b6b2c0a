"""Writes a helpful Korean answer from the subagents' results, with no language model.

The composer is the embedded default's answer writer and also the fallback when the LLM fails mid-answer.
It streams word-sized pieces through the same token path an LLM uses, so readers cannot tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from eco2.domain.registry import label
from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.ports.llm import AnswerInput

_OPENERS = {
    "waste": "분리배출 방법을 알려드릴게요.",
    "bulk_waste": "대형폐기물 배출 방법을 정리해 드릴게요.",
    "character": "이코에코 캐릭터 이야기를 해 드릴게요.",
    "location": "근처 장소를 찾아봤어요.",
    "weather": "날씨 정보를 확인해 봤어요.",
    "web_search": "웹에서 찾아본 내용이에요.",
    "collection_point": "수거함 위치를 찾아봤어요.",
    "recyclable_price": "재활용품 시세를 알려드릴게요.",
    "image_generation": "이미지 생성 요청을 처리했어요.",
    "general": "",
}


_REASONS = {
    ResultStatus.NOT_CONFIGURED: "아직 연결되지 않았어요",
    ResultStatus.TIMEOUT: "응답이 늦어 기다리지 못했어요",
    ResultStatus.FAILED: "일시적인 오류로 가져오지 못했어요",
    ResultStatus.EMPTY: "찾은 결과가 없어요",
    ResultStatus.WEAK: "정확히 맞는 정보를 찾지 못했어요",
    ResultStatus.NEEDS_INPUT: "추가 정보가 필요해요",
}

ASK_ITEM_NAME = (
    "사진 속 물건을 알아보지 못했어요. 물건 이름(예: '페트병', '우유팩')을 알려주시면 정확한 배출 방법을 알려드릴게요."
)

_SPEAKS = frozenset({ResultStatus.NEEDS_INPUT, ResultStatus.EMPTY, ResultStatus.NOT_CONFIGURED})
"""Statuses whose summary, when there is one, is shown although the result is not usable data."""

NOTHING_FOUND = "지금은 이 질문에 대한 정확한 정보를 찾지 못했어요."
NARROW_HINT = "품목 이름이나 지역을 조금 더 구체적으로 알려주시면 다시 찾아볼게요."
NARROWABLE = frozenset({"waste", "bulk_waste", "collection_point", "location", "recyclable_price"})
"""Intents whose answer a more precise item or district could find; small talk or a character question
gets no such hint."""

_PIECE = re.compile(r"\S+\s*|\s+")


def compose(answer_input: AnswerInput) -> str:
    """The whole answer text for ``answer_input``."""
    primary = answer_input.intents[0] if answer_input.intents else "general"
    parts: list[str] = []
    usable = [r for r in answer_input.results if r.status is ResultStatus.OK and r.summary]
    opener = _OPENERS.get(primary, "")
    if opener and usable:
        parts.append(opener)
    parts.extend(r.summary.strip() for r in usable)
    # A subagent that found nothing may still say something useful ("no KECO bin nearby: batteries go to
    # the community centre"), so may one without its key ("which setting enables the forecast"); a
    # question back to the user (needs_input) always shows.
    needs = [r for r in answer_input.results if r.status in _SPEAKS and r.summary]
    parts.extend(r.summary.strip() for r in needs)
    if any(r.name == "vision" and r.status is not ResultStatus.OK for r in answer_input.results):
        parts.append(ASK_ITEM_NAME)
    # A subagent whose own words are shown already (a question back, "nothing here, try the 주민센터") needs
    # no second line saying it found nothing.
    said = {r.name for r in needs}
    missing = tuple(name for name in answer_input.missing if name not in said)
    if missing:
        parts.append(_missing_sentence(answer_input.results, missing))
    if not usable and not needs:
        unconfigured = any(r.status is ResultStatus.NOT_CONFIGURED for r in answer_input.results)
        parts.insert(0, _nothing_found(primary, unconfigured))
    return "\n\n".join(p for p in parts if p)


def _nothing_found(primary: str, unconfigured: bool) -> str:
    """The opening of an answer with nothing to say: the hint only where an item or district would help."""
    head = "죄송해요, 이 질문에 답할 정보를 지금은 가져올 수 없어요." if unconfigured else NOTHING_FOUND
    if primary in NARROWABLE:
        return f"{head} {NARROW_HINT}"
    return head


def _missing_sentence(results: tuple[SubagentResult, ...], missing: tuple[str, ...]) -> str:
    by_name = {r.name: r for r in results}
    lines = []
    for name in missing:
        result = by_name.get(name)
        reason = _REASONS.get(result.status, "가져오지 못했어요") if result else "가져오지 못했어요"
        if result is not None and result.status in (ResultStatus.FAILED, ResultStatus.TIMEOUT) and result.summary:
            reason = result.summary.strip()  # its own words: "캐릭터 서비스에 연결할 수 없어요…"
        lines.append(f"- {label(name)}: {reason}")
    return "참고로 다음 정보는 이번 답변에 담지 못했어요.\n" + "\n".join(lines)


def pieces(text: str) -> Iterator[str]:
    """Split text into word-sized pieces (each keeps its trailing whitespace), like LLM tokens."""
    for match in _PIECE.finditer(text):
        yield match.group(0)


class ComposerAnswerWriter:
    """Implements ``AnswerWriterPort`` offline."""

    provider = "offline"

    def stream(self, answer_input: AnswerInput) -> Iterator[str]:
        """Yield the composed answer piece by piece."""
        yield from pieces(compose(answer_input))
