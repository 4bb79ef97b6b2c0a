"""What a follow-up message is about, resolved offline from the session's earlier turns.

"우유팩은 어떻게 버려?" then "그거 씻어야 돼?": the second message names no item, so every subagent would
search for "그거". The classifier already carries the *intent* over (``eco2.intent.offline``); this module
carries the *topic*: the item, the district and the kind of place an earlier turn was about, as subagent
hints. And when the last answer was a question back ("어느 시·군·구에서 버리실 건가요?"), a bare answer
("강남구요", "역삼동이요") continues that question instead of starting a new topic.

Everything here is a pure function of the message and the remembered turns, so it runs the same with or
without a language model (with one, the answer writer also gets the turns themselves). It reads at most the
first ``MAX_TEXT_CHARS`` of a message and no pattern of it backtracks, so it costs about a millisecond on any
input (tests/unit/test_followup.py); its answers are measured by ``bench/eval_conversations.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eco2.domain.districts import resolve_district
from eco2.domain.intents import Intent
from eco2.domain.subagents import ResultStatus, SubagentResult
from eco2.intent._lexicon import DEFAULT_LEXICON, Lexicon
from eco2.intent._text import compact, is_follow_up, normalize, strip_courtesy
from eco2.rag.retriever import WasteRetriever
from eco2.subagents.bulk_waste import load_fee_table
from eco2.subagents.collection_point import find_kind
from eco2.subagents.location import parse_message, place_kind

_KEYWORD_HITS = Lexicon(DEFAULT_LEXICON).hits
"""The classifier's keyword lexicon: a message naming its own intent ("오늘 날씨 어때?") is no bare follow-up,
and its ``general`` phrases mark thanks and greetings, which carry nothing."""

LOOKBACK = 3
"""How many earlier turns a follow-up may reach back to for a fact it does not name itself."""
SHORT_CHARS = 8
"""A message this short (without spaces) that names no item of its own leans on the previous one."""
ANSWER_MAX_CHARS = 16
"""A reply to a question back ("강남구요", "서울 중구 역삼동이요") is short; longer text is a new message."""

DISTRICT_INTENTS = frozenset({"bulk_waste", "collection_point"})
"""Intents whose subagents answer for one 시군구: a district named earlier in the session still holds."""
PLACE_INTENTS = frozenset({"location"})
ASKING = {"bulk_waste": "district", "collection_point": "district", "location": "location"}
"""Subagents whose ``needs_input`` result is a question the user's next message may answer."""

# Parts of an item: "그럼 뚜껑은?" after a glass bottle asks about *its* lid, not lids in general.
_PARTS = (
    "병뚜껑", "뚜껑", "마개", "캡", "라벨", "스티커", "테이프", "송장", "빨대", "손잡이", "고리", "펌프",
    "스프링", "받침", "포장재", "완충재", "비닐", "케이스", "껍질", "심",
)  # fmt: skip
# What a reply to a question back may end with ("강남구요", "역삼동이에요", "서울 중구입니다"), longest first;
# stripped one at a time from the end, at most a few times (a regex repeating overlapping endings
# backtracks exponentially on "에서요에서요…").
_ANSWER_ENDINGS = tuple(
    sorted(
        ("에 살아요", "에 살아", "에 있어요", "에서요", "에서", "이에요", "예요", "입니다", "이요", "이고요", "요",
         "이야", "야", "쪽", "근처"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_MAX_ENDINGS = 3
MAX_TEXT_CHARS = 200
"""A follow-up is short; only this much of a message is read (the hot path stays cheap on any input)."""
# A place a location question can be answered with on its own ("강남역이요", "홍대요"), as opposed to any
# noun the place parser would try ("고양이" is no 고양시).
_PLACE_WORD = re.compile(r"^[가-힣]{1,8}(?:역|동|읍|면|리|가|로|길|대|사거리|터미널)$")
# Not a pronoun for the earlier item: "그건 그렇고" (by the way), "그거 말고" (not that one), "그게 아니라".
_NOT_ANAPHOR = re.compile(r"그건\s*그렇고|그거\s*말고|그것\s*말고|그게\s*아니라|그건\s*아니고|이건\s*말고")
_TOKEN = re.compile(r"[가-힣A-Za-z0-9]+")
# A pronoun for the thing talked about: "그거 씻어야 돼?" is about the earlier item even when it names
# another one on the way ("그건 신문지에 싸야 돼?"). "그럼"/"근데" only open a follow-up: "그럼 캔은?" is a
# new item.
_ANAPHOR = re.compile(
    r"(?:^|\s)(?:아까\s*)?(?:그거|그건|그걸|그것|그게|이거|이건|이걸|이것|이게|저거|저건|그\s*물건)"
    r"|[가-힣](?:은|는|한|된|진|린)\s*(?:건|거|것)(?:은|는|도|요)?\s*\??$"  # "국물 묻은 건?": the one that is…
)
# The state the earlier item is in ("국물 묻은 건?", "부풀었으면?"): still that item, not a new one.
_CONDITION = re.compile(r"묻은|묻었|오염|더러운|젖은|젖었|깨진|깨졌|부서진|찢어진|녹슨|부풀|터진|새는|남은|안\s*씻")
ITEM_INTENTS = frozenset({"waste", "bulk_waste", "collection_point", "recyclable_price"})
"""Intents whose answer is about an item: a pronoun in another intent's message still points at one."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """How the pipeline should read this turn's message."""

    hints: dict[str, str] = field(default_factory=dict)
    """Facts for the subagents (``item``, ``district``) carried from earlier turns."""
    message: str = ""
    """The text subagents read: the message itself, or the question it answers plus the answer."""
    intents: tuple[str, ...] = ()
    """Set when the classifier's guess would leave the conversation's thread: the intents of the turn whose
    question this answers, whose item a pronoun points at, or whose kind of item a follow-up names again."""
    carried: tuple[str, ...] = ()
    """Which facts came from earlier turns (``item``, ``district``, ``place``, ``question``), for logs."""


class TopicReader:
    """Finds the item, the district and the kind of place a message names, and carries them over."""

    def __init__(self, retriever: WasteRetriever | None = None) -> None:
        self._retriever = retriever or WasteRetriever.default()
        self._bulky = load_fee_table()

    # -- what one message names ----------------------------------------------------------------
    def item(self, text: str, intents: Sequence[str] = ()) -> str:
        """The item ``text`` names, as the user wrote it ("페트병"), or ``""``.

        Only a name or alias written in the message counts: the retriever ranks candidates, but its fuzzy
        match would find an "item" in any question ("구멍 뚫어야 돼?"). For a bulky-waste or a collection
        question its own vocabulary comes first: "수수료는?" names no sofa.
        """
        bulky = [item.name for item in self._bulky.find_items(text)]
        kind = find_kind(text)
        kinds = [kind.label] if kind else []
        wants = set(intents)
        if "bulk_waste" in wants:
            return (bulky or [""])[0]
        if "collection_point" in wants:
            return (kinds or [""])[0]
        for hit in self._retriever.search(text, k=5).hits:
            for alias in sorted(_names(hit.item.name, hit.item.aliases), key=len, reverse=True):
                if written := _written(alias, text):
                    return written
        return (bulky or kinds or [""])[0]

    def district(self, text: str) -> str:
        """The one 시군구 ``text`` names (its full label), or ``""`` when none or several fit."""
        found = resolve_district(text).district
        return found.label if found is not None else ""

    def part_of(self, previous: str, text: str) -> str:
        """``previous``'s part that ``text`` asks about ("유리병" + "그럼 뚜껑은?" -> 금속 병뚜껑), or ``""``."""
        key = compact(text)
        part = next((p for p in _PARTS if p in key), "")
        if not part or part in compact(previous):
            return ""
        retrieval = self._retriever.search(f"{previous} {part}", k=3)
        named = [hit.item for hit in retrieval.hits if part in compact(hit.item.name)]
        return named[0].name if named else f"{previous} {part}"

    def answers_where(self, text: str) -> bool:
        """Whether ``text`` is only a place: the reply to "어느 시·군·구에서…?" ("강남구요", "역삼동이요")."""
        core = _strip_endings(normalize(text[:MAX_TEXT_CHARS]).rstrip("?!.~ "))
        if not core or len(compact(core)) > ANSWER_MAX_CHARS or find_kind(core) or self._bulky.find_items(core):
            return False
        resolution = resolve_district(core)
        if resolution.district or resolution.candidates or resolution.sido:
            return True
        return _PLACE_WORD.match(compact(core)) is not None and place_kind(core) is None

    # -- the turn ----------------------------------------------------------------------------------
    def resolve(self, message: str, intents: Sequence[str], turns: Sequence[Mapping[str, str]]) -> Resolution:
        """Read ``message`` in the light of ``turns`` (oldest first); ``intents`` are the classifier's."""
        recent = list(turns[-LOOKBACK:])
        last = recent[-1] if recent else {}
        if last.get("awaiting") and self.answers_where(message):
            return _reply_to(last, message)
        text = strip_courtesy(normalize(message[:MAX_TEXT_CHARS]))
        own_item = self.item(text, intents)
        anaphor = _ANAPHOR.search(text) is not None and not _NOT_ANAPHOR.search(text)
        # "이거 스티로폼인데 어떻게 버려?", "이게 비닐이야?": the message says what "this" is; nothing to carry.
        identified = bool(own_item) and _identifies(own_item, text)
        anaphor = anaphor and not identified
        keywords = _KEYWORD_HITS(text)
        own_topic = bool(keywords - ITEM_INTENTS - {Intent.GENERAL})  # "그건 그렇고 오늘 날씨 어때?"
        keywords = _KEYWORD_HITS(text)
        # A keyword of another kind of question ("오늘 날씨 어때?") starts a topic; "헹궈야 해?" does not.
        short = not own_item and not keywords - ITEM_INTENTS and len(compact(text)) <= SHORT_CHARS
        follow = anaphor or is_follow_up(text) or short or _is_part(own_item) or bool(_CONDITION.search(text))
        courtesy = Intent.GENERAL in keywords and not anaphor
        hints: dict[str, str] = {}
        carried: list[str] = []
        overrides: tuple[str, ...] = ()
        source = _latest_turn(recent, "item")
        if follow and source and not courtesy and not identified and (anaphor or not own_topic):
            part = self.part_of(source["item"], text) if own_item and not anaphor else ""
            if anaphor or not own_item or part:
                hints["item"] = part or source["item"]
                carried.append("item")
                if intents and intents[0] not in ITEM_INTENTS and anaphor and not own_topic:
                    overrides = _intents_of(source)  # "아까 그거 찌그러뜨려야 돼?" after a weather question
        if follow and not overrides and not courtesy and not own_topic and last:
            overrides = self._same_thread(intents, last, text, own_item, carried)
        wants = set(overrides or intents)
        earlier_district = _latest(recent, "district")
        if wants & DISTRICT_INTENTS and earlier_district and not _names_place(text):
            hints["district"] = earlier_district
            carried.append("district")
        earlier_place = _latest(recent, "place")
        if wants & PLACE_INTENTS and follow and earlier_place and place_kind(text) is None and "item" not in hints:
            hints["item"] = earlier_place  # the location subagent reads its kind of place from the item hint
            carried.append("place")
        return Resolution(hints, message, overrides, tuple(carried))

    def _same_thread(
        self, intents: Sequence[str], last: Mapping[str, str], text: str, own_item: str, carried: Sequence[str]
    ) -> tuple[str, ...]:
        """The previous turn's intents when a follow-up stays in its thread but was classified away from it.

        "폐휴대폰 수거함 어디야?" then "드라이기는?": a drier alone reads as a waste question, yet it asks for a
        collection bin like the message before; "계란 껍데기는…?" then "아니면?" is no small talk.
        """
        previous = _intents_of(last)
        if not previous or not intents or intents[0] == previous[0]:
            return ()
        if previous[0] == "collection_point" and find_kind(text) is not None:
            return previous
        if previous[0] == "bulk_waste" and self._bulky.find_items(text):
            return previous
        if intents[0] == "general" and previous[0] != "general" and (carried or not own_item):
            return previous
        return ()

    def topic(
        self,
        message: str,
        intents: Sequence[str],
        hints: Mapping[str, str],
        results: Mapping[str, SubagentResult],
    ) -> dict[str, str]:
        """What this turn was about, remembered with it for the next turns to lean on.

        The results say it best (the item the retriever found, the district a subagent answered for);
        the message and the hints fill in what they do not.
        """
        facts: dict[str, str] = {"intents": ",".join(intents)}
        message = message[:MAX_TEXT_CHARS]
        item = self.item(strip_courtesy(normalize(message)), intents) or _result_item(results)
        if not item and set(intents) & ITEM_INTENTS:
            item = hints.get("item", "")  # carried, and still what the conversation is about
        district = _result_district(results) or hints.get("district", "") or self.district(message)
        if item:
            facts["item"] = item
        if district:
            facts["district"] = district
        if set(intents) & PLACE_INTENTS and (kind := parse_message(message, hints.get("item"))) and not kind.guessed:
            facts["place"] = kind.kind.label
        asking = [name for name, result in results.items() if result.status is ResultStatus.NEEDS_INPUT]
        if any(name in ASKING for name in asking):
            facts["awaiting"] = ASKING[next(name for name in asking if name in ASKING)]
            facts["question"] = message  # an answer to it continues this text ("…어디 있어? 중구요" -> "…서울")
        return facts


def _reply_to(asking: Mapping[str, str], message: str) -> Resolution:
    """The turn that asked back, asked again with the user's reply: its intents, its question plus the reply."""
    question = asking.get("question") or asking.get("user", "")
    hints = {"item": asking["item"]} if asking.get("item") else {}
    return Resolution(hints, f"{question} {message}".strip(), _intents_of(asking), ("question",))


def _latest(turns: Sequence[Mapping[str, str]], key: str) -> str:
    return _latest_turn(turns, key).get(key, "")


def _latest_turn(turns: Sequence[Mapping[str, str]], key: str) -> Mapping[str, str]:
    return next((turn for turn in reversed(turns) if turn.get(key)), {})


def _intents_of(turn: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(name for name in (turn.get("intents") or turn.get("intent", "")).split(",") if name)


def _is_part(item: str) -> bool:
    """Whether ``item`` is a bare part ("뚜껑", "라벨"): a follow-up about the earlier item's part."""
    key = compact(item)
    return bool(key) and any(key == part or (key.startswith(part) and len(key) <= len(part) + 1) for part in _PARTS)


def _names(name: str, aliases: Sequence[str]) -> list[str]:
    """An item's name, its aliases, and their words of two letters or more ("색깔 있는 유리병" -> 유리병)."""
    whole = [name, *aliases]
    words = [word for text in whole for word in re.split(r"[\s·()/,]+", text) if len(word) >= 2]
    return list(dict.fromkeys([*whole, *words]))


def _written(alias: str, text: str) -> str:
    """``alias`` as ``text`` writes it ("우유 팩" in "우유팩은…" -> "우유팩"), or ``""``.

    Spacing may differ; a one-letter alias ("캔") only counts at the start of a word.
    """
    letters = [re.escape(char) for char in alias.lower() if not char.isspace()]
    if not letters:
        return ""
    boundary = "" if len(letters) >= 2 else r"(?<![가-힣A-Za-z0-9])"
    found = re.search(boundary + r"\s*".join(letters), text.lower())
    return found.group(0) if found else ""


def _names_place(text: str) -> bool:
    resolution = resolve_district(text)
    return bool(resolution.district or resolution.candidates or resolution.sido)


def _result_item(results: Mapping[str, SubagentResult]) -> str:
    rag = results.get("waste_rag")
    if rag is not None and rag.status is ResultStatus.OK and rag.data.get("hits"):
        return str(rag.data["hits"][0].get("name", ""))
    point = results.get("collection_point")
    if point is not None and point.data.get("kind"):
        return str(point.data["kind"])
    return ""


def _result_district(results: Mapping[str, SubagentResult]) -> str:
    """The district a subagent answered for, unless only the user's position gave it (a fresh position must
    win next time, and a named district is what the user said)."""
    for name in sorted(DISTRICT_INTENTS):
        result = results.get(name)
        if result is None or not result.status.usable or result.data.get("district_from") == "user_location":
            continue
        if result.data.get("district"):
            return str(result.data["district"])
    return ""


def _strip_endings(text: str) -> str:
    """``text`` without the reply endings it ends with ("강남구에 살아요" -> "강남구"), a few at most."""
    core = text.strip()
    for _ in range(_MAX_ENDINGS):
        ending = next((e for e in _ANSWER_ENDINGS if compact(core).endswith(compact(e))), "")
        if not ending:
            break
        cut = len(core)
        for char in reversed(compact(ending)):  # walk back over the ending's letters, skipping spaces
            cut = core.rindex(char, 0, cut)
        core = core[:cut].strip()
    return core


def _identifies(item: str, text: str) -> bool:
    """Whether the message says what "this" is: "이거 스티로폼인데…", "이게 비닐이야?"."""
    return (
        re.search(re.escape(item) + r"\s*(?:인데|이야|야|예요|이에요|이냐|이니|이면|라면|인지|이라|라)", text)
        is not None
    )
