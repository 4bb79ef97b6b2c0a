"""The ``character`` subagent: introduces Eco²'s characters, asking the character service over gRPC.

Which character a message is about is decided here, without a round trip: a name or alias ("페티
누구야", "who is Glassy"), else a category word of the catalogue ("비닐 캐릭터"), else a waste item
found by the ``waste_rag`` retriever ("닭뼈 캐릭터" -> ``not_food_waste``), else the representative
character. What the character is, says and earns comes from ``character.v1.CharacterService``
(``GetCharacterByMatch``, ``GetDefaultCharacter``, ``GetCharacterReward``, ``ListCharacters``).

With ``ECO2_CHARACTER_GRPC_ADDR`` set it calls that service (``eco2 character-server``; the Helm chart sets
it); unset, each process serves the bundled catalogue itself on loopback (``embedded.py``), so the default
setup answers character questions with nothing else running. When the service cannot be reached the
client's errors reach the runner carrying a sentence for the user, "캐릭터 서비스에 연결할 수 없어요" (not the
address: the error and the breaker's log have it), and the runner reports ``failed`` with it as the summary
(fail mode open: the answer goes on without characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from eco2.adapters.resilience.breakers import CircuitOpenError
from eco2.domain.registry import spec_for
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.errors import RetryableError
from eco2.ports.subagents import SubagentPort
from eco2.rag.corpus import WasteItem
from eco2.rag.retriever import WasteRetriever
from eco2.subagents.character.catalogue import (
    ACTION_LABELS,
    MAX_REWARD_COUNT,
    Catalogue,
    CharacterEntry,
    TermIndex,
    load_catalogue,
)
from eco2.subagents.character.client import CharacterClient, CharacterInfo, CharacterListing, RewardInfo
from eco2.subagents.character.embedded import embedded_address
from eco2.subagents.context import SubagentContext

NAME = "character"
ATTEMPTS = 3
"""Attempts per RPC (retries on UNAVAILABLE / DEADLINE_EXCEEDED only)."""
BACKOFF_S = 0.05
MAX_CHARACTERS = 3
"""Characters introduced at most per answer ("글래시랑 페이피 중에 누가...")."""
SOURCE_NAME = "이코에코 캐릭터 서비스"
DEFAULT_LABEL = "default"
"""The representative character's ``match_label`` in the catalogue."""

_REWARD = re.compile(r"보상|포인트|점수|리워드|배지|뱃지|reward|points?|badge", re.IGNORECASE)
_LIST = re.compile(
    r"캐릭터\s*(들|종류|목록|도감|전부|모두|다\s|몇)|몇\s*명|(전부|다|모두)\s*보여|세계관|characters", re.IGNORECASE
)
_COUNT = re.compile(r"(\d{1,4})\s*(개|번|회|병|캔|장|봉지|times)")
_SCAN = re.compile(r"사진|스캔|촬영|인식|scan|photo", re.IGNORECASE)
_QUIZ = re.compile(r"퀴즈|quiz", re.IGNORECASE)
_NOISE = re.compile(
    r"(캐릭터|누구|담당|매칭|연결|소개|알려|이름|어떤|무슨|뭐|버리|얻|받|나와|나오|맞|사진|스캔|인증|보상|포인트|배지"
    r"|character|which|who)\S*",
    re.IGNORECASE,
)


def build(ctx: SubagentContext) -> SubagentPort:
    """The subagent on a lazily connecting client (to the embedded service when no address is set);
    deadlines fit the registry's time limit."""
    settings = ctx.settings
    address = settings.character_grpc_addr
    # A run makes a few RPCs; two fully retried ones (plus backoff) must fit in the soft time limit.
    deadline_s = spec_for(NAME).timeout_s / (2 * ATTEMPTS + 2)
    client = CharacterClient(
        address or embedded_address,
        ctx.breakers,
        tls=settings.character_grpc_tls and bool(address),  # the embedded service is plain loopback
        ca_path=settings.character_grpc_ca,
        deadline_s=deadline_s,
        attempts=ATTEMPTS,
        backoff_s=BACKOFF_S,
    )
    return CharacterSubagent(client)


UNREACHABLE = "캐릭터 서비스에 연결할 수 없어요. 잠시 후 다시 물어봐 주세요."
"""What a character question hears when the service cannot be reached (its address goes to the log)."""


class CharacterSubagent:
    """Implements ``SubagentPort`` for ``character``."""

    def __init__(
        self,
        client: CharacterClient,
        catalogue: Catalogue | None = None,
        retriever: Callable[[], WasteRetriever] = WasteRetriever.default,
    ) -> None:
        self._client = client
        self._catalogue = catalogue
        self._retriever = retriever
        self._indexes: tuple[TermIndex, TermIndex] | None = None

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Introduce the characters the message is about, or list them, with rewards when asked.

        A service that cannot be reached (retries spent, or its breaker open) fails with a sentence saying
        so and where, which the failed result carries to the answer.
        """
        try:
            return self._introduce(query)
        except RetryableError as exc:
            raise RetryableError(str(exc), summary=self._unreachable()) from exc
        except CircuitOpenError as exc:
            raise CircuitOpenError(str(exc), summary=self._unreachable()) from exc

    def _unreachable(self) -> str:
        # Not the address: in a cluster it is an internal service name, which users and the answer model
        # have no use for; the error and the breaker's log line carry it for operators.
        return UNREACHABLE

    def _introduce(self, query: SubagentQuery) -> SubagentResult:
        names, keywords = self._term_indexes()
        named = _unique([entry for entry, _ in names.find(query.message)])[:MAX_CHARACTERS]
        labels, matched_by = [e.match_label for e in named], "name"
        if not labels:
            label, matched_by = self._category(query, keywords)
            labels = [label] if label else []
        if not labels and _LIST.search(query.message):
            return _listing_result(self._client.list_characters())
        characters = [info for label in labels if (info := self._client.get_by_match(label)) is not None]
        missing = bool(labels) and not characters
        if not characters:
            characters = [self._client.get_default()]
            matched_by = "default"
        reward, counted = None, _count(query.message)
        if _REWARD.search(query.message):
            reward = self._client.get_reward(characters[0].code, _action(query.message), counted or 1)
        return SubagentResult(
            NAME,
            ResultStatus.OK,
            summary=_summary(characters, reward, matched_by, missing, counted is not None),
            data={
                "matched_by": matched_by,
                "characters": [
                    {"code": c.code, "name": c.name, "match_label": c.match_label, "type": c.character_type}
                    for c in characters
                ],
                "reward": _reward_data(reward, counted is not None) if reward else None,
            },
            sources=tuple(Source(f"{SOURCE_NAME}: {c.name}", f"eco2://character/{c.code}") for c in characters),
        )

    def _term_indexes(self) -> tuple[TermIndex, TermIndex]:
        if self._indexes is None:
            catalogue = self._catalogue or load_catalogue()
            self._indexes = (catalogue.name_index(), catalogue.keyword_index())
        return self._indexes

    def _category(self, query: SubagentQuery, keywords: TermIndex) -> tuple[str | None, str]:
        """The waste category a message without a character name points at, and how it was found.

        A category word ("비닐") wins unless the retriever finds an item whose own name the user said
        and that name is longer: "플라스틱 숟가락" is a general-waste item, not 플리's.
        """
        text = " ".join(filter(None, (query.hints.get("item"), query.message)))
        found = keywords.find(text)
        keyword = max(found, key=lambda pair: len(pair[1]), default=None)
        item, said = _said_item(self._retriever(), text)
        if item is not None and (keyword is None or said > len(keyword[1])):
            return item.category.id, "item"
        if keyword is not None:
            return keyword[0].match_label, "keyword"
        return None, "default"


def _said_item(retriever: WasteRetriever, text: str) -> tuple[WasteItem | None, int]:
    """The best retrieved item whose name or alias appears in ``text`` as a word, and that name's length.

    The literal check keeps the retriever honest on messages that name no item at all ("캐릭터 레벨업"):
    a high-ranking item the user never mentioned is not what they asked about.
    """
    stripped = _NOISE.sub(" ", text).strip()
    if not stripped:
        return None, 0
    for hit in retriever.search(stripped, k=5).hits:
        said = max((_said_length(term, text) for term in (hit.item.name, *hit.item.aliases)), default=0)
        if said:
            return hit.item, said
    return None, 0


def _said_length(term: str, text: str) -> int:
    compact = "".join(term.lower().split())
    if not compact:
        return 0
    spaced = r"\s*".join(re.escape(ch) for ch in compact)
    # A term must start a word: "캔" is not said in "스캔".
    return len(compact) if re.search(rf"(?<![가-힣a-z]){spaced}", text.lower()) else 0


def _unique(entries: list[CharacterEntry]) -> list[CharacterEntry]:
    return list({e.code: e for e in entries}.values())


def _action(message: str) -> str:
    if _QUIZ.search(message):
        return "quiz_answer"
    if _SCAN.search(message):
        return "image_scan"
    return "correct_disposal"


def _count(message: str) -> int | None:
    """The number of actions the user asks about ("페트병 10개"), or None when they gave none."""
    match = _COUNT.search(message)
    return min(max(int(match.group(1)), 1), MAX_REWARD_COUNT) if match else None


def _summary(
    characters: list[CharacterInfo], reward: RewardInfo | None, matched_by: str, missing: bool, counted: bool
) -> str:
    parts: list[str] = []
    if missing:
        parts.append("물어본 품목의 캐릭터는 아직 없어서 대표 캐릭터를 소개할게요.")
    parts.extend(_describe(c) for c in characters)
    if matched_by == "default" and not missing:
        parts.append("이코 말고도 분리배출 품목마다 캐릭터가 있어요. '페트병 캐릭터'처럼 품목이나 이름으로 물어보세요.")
    if reward is not None:
        parts.append(_describe_reward(reward, counted))
    parts.append(f"(출처: {SOURCE_NAME})")
    return "\n\n".join(parts)


def _describe(c: CharacterInfo) -> str:
    stands_for = c.category_name and c.match_label != DEFAULT_LABEL
    lines = [
        f"[{c.name}] {c.category_name} 담당 · {c.character_type}" if stands_for else f"[{c.name}] {c.character_type}"
    ]
    if c.personality:
        lines.append(f"성격: {c.personality}")
    if c.likes:
        lines.append(f"좋아하는 것: {', '.join(c.likes)}")
    lines.extend(f'{c.name}: "{line}"' for line in c.dialog_lines[:2])
    if c.how_to_meet:
        lines.append(f"만나는 방법: {c.how_to_meet}")
    return "\n".join(lines)


def _describe_reward(r: RewardInfo, counted: bool) -> str:
    """The rule, plus the character's line about the user's own count when they gave one."""
    label = ACTION_LABELS.get(r.action, r.action)
    lines = [f"보상 안내 ({r.character_name}): {label} 1번에 {r.points_per_action}포인트"]
    if r.count > 1:
        lines[0] += f", {r.count}번이면 {r.points}포인트"
    lines[0] += f"예요. '{r.badge_name}' 배지는 올바른 분리배출 {r.badge_threshold}번이면 받아요."
    if counted and r.message:
        lines.append(f'{r.character_name}: "{r.message}"')
    return "\n".join(lines)


def _reward_data(reward: RewardInfo, counted: bool) -> dict[str, Any]:
    """The reward as JSON; the character's line speaks of the user's count, so only when they gave one."""
    data = asdict(reward)
    if not counted:
        data.pop("message")
    return data


def _listing_result(listing: tuple[CharacterListing, ...]) -> SubagentResult:
    if not listing:
        return SubagentResult(NAME, ResultStatus.EMPTY, data={"characters": []})
    entries = "\n".join(
        f"- {c.name}: {c.character_type}"
        if c.match_label == DEFAULT_LABEL
        else f"- {c.name}: {c.category_name} · {c.character_type}"
        for c in listing
    )
    summary = (
        f"이코에코 캐릭터는 모두 {len(listing)}명이에요.\n{entries}\n"
        "품목을 올바르게 분리배출하면 그 품목의 캐릭터를 만날 수 있어요. 이름을 말해 주면 자세히 소개할게요."
        f"\n\n(출처: {SOURCE_NAME})"
    )
    return SubagentResult(
        NAME,
        ResultStatus.OK,
        summary=summary,
        data={"characters": [{"code": c.code, "name": c.name, "match_label": c.match_label} for c in listing]},
        sources=(Source(f"{SOURCE_NAME}: 캐릭터 목록", "eco2://character/"),),
    )
