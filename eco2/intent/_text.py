"""Text normalisation and the small bits of Korean surface syntax the offline classifier relies on.

Chat messages arrive with full-width characters, compatibility jamo, random spacing ("근처재활용센터")
and long runs of "ㅋㅋㅋㅋ". Everything that looks at text (the vectoriser, the lexicon, the clause
splitter) goes through :func:`normalize` first, so that training data and live traffic are seen the same
way.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_CHARS", "compact", "is_follow_up", "normalize", "split_clauses", "strip_courtesy"]

MAX_CHARS = 1000
"""Longer messages are cut: intent is decided in the first lines, and the cut bounds the CPU per call."""

_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(.)\1{3,}")
# Clause boundaries of a multi-intent message: punctuation, "그리고/and", a "-이랑/-랑" list, the
# connective ending "-고" ("알려주고", "그려주고") and embedded questions ("-는지", "-인지").
_CLAUSE_BREAK = re.compile(
    r"[,;?!.~\n]+"
    r"|(?<![가-힣a-z])(?:그리고|그리고요|and|also|또한|아울러)\s"
    r"|(?<=[가-힣])(?:이랑|랑|하고|하고요|주고|보고|찾고)\s"
    r"|(?<=[가-힣])(?:는지|인지|은지)(?:랑|도|,)?\s"
    r"|(?<=[가-힣])(?:리고|들고|되고|내고|치고)\s"
)
# A follow-up leans on the previous turn: it opens with a connective or an anaphor ("그럼 캔은?",
# "거기 몇 시까지 해?") or is a bare topic with a topic particle ("유리는?", "고철은요?").
_FOLLOW_UP_OPENERS = re.compile(
    r"^(?:그럼|그러면|그럼요|그렇다면|그건|그거|그것|그것도|이건|이거|이것도|저건|저거|거기|거긴|저기|그곳|"
    r"그\s*가게|그\s*캐릭터|그\s*센터|걔|얘|쟤|그리고|근데|그런데|아\s*그럼|또|그럼\s*혹시|"
    r"then|what about|and|how about)(?![가-힣])"
)
_FOLLOW_UP_ANAPHORS = re.compile(r"(?:^|\s)(?:거기|거긴|거기서|그곳|그\s*곳|저기|그\s*가게|그\s*캐릭터)")
# Greetings and fillers in front of a real question ("안녕하세요~ 혹시 부탄가스는 ...") say nothing about
# its intent but weigh heavily in a short message's n-grams.
_COURTESY = re.compile(
    r"^(?:(?:안녕하세요|안녕하십니까|안녕|하이|ᄒᄋ|hello|hi|hey|저기요|저기|실례지만|"
    r"궁금한데요|궁금한 게 있는데|질문이요|질문 있어요|혹시|음|아|네|넵)(?![0-9a-z가-힣])[\s~!.,?^ᄒᄏ]*)+"
)
_TOPIC_ONLY = re.compile(r"^\S{1,8}\s?(?:은|는|도|이랑|랑|이요|요|은요|는요|도요|은\?|는\?)\s*\??$")


def normalize(text: str) -> str:
    """Return ``text`` in the canonical form used for training, lexicon matching and prediction.

    NFKC folds full-width Latin and compatibility characters, lower-casing makes ``PET``/``pet`` one
    feature, long repeats ("ㅋㅋㅋㅋㅋㅋ") shrink to three so they do not dominate the n-grams, and
    whitespace collapses to single spaces.
    """
    folded = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS].lower()
    folded = _REPEATS.sub(r"\1\1\1", folded)
    return _SPACES.sub(" ", folded).strip()


def compact(text: str) -> str:
    """Drop all spaces: Korean users often omit them ("페트병어케버림"), so keywords match without."""
    return text.replace(" ", "")


def strip_courtesy(text: str) -> str:
    """Drop leading greetings and fillers from a normalised message, unless nothing substantial is left."""
    rest = _COURTESY.sub("", text, count=1).strip()
    return rest if len(compact(rest)) >= 4 else text


def split_clauses(text: str, max_clauses: int = 6) -> list[str]:
    """Split a normalised message into clauses that may each carry their own intent.

    Over-splitting is harmless: a clause only adds a secondary intent when the model is confident about
    it on its own. Clauses of a single character are dropped as noise.
    """
    parts = (part.strip() for part in _CLAUSE_BREAK.split(text))
    return [part for part in parts if len(compact(part)) >= 2][:max_clauses]


def is_follow_up(text: str) -> bool:
    """Whether a normalised message reads as a follow-up that inherits the previous turn's topic."""
    if not text:
        return False
    if _FOLLOW_UP_OPENERS.search(text) or _FOLLOW_UP_ANAPHORS.search(text):
        return True
    return len(compact(text)) <= 10 and _TOPIC_ONLY.search(text) is not None
