"""Finds known phrases (item words, place names) in a user's Korean message.

Korean is written with or without spaces ("종이 박스" / "종이박스") and mixes in Latin abbreviations
("PE", "PET병"), so a phrase matches with any whitespace between its characters, and a Latin phrase only
as a whole word: "PE" must not fire inside "PET" or "PEN". Overlaps go to the longest phrase, so "맥주캔"
wins over "캔" and "경기도 광주" over "광주".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from eco2.domain.text import compact, normalize

T = TypeVar("T")

_LATIN = re.compile(r"[a-z]")


def _pattern(key: str) -> re.Pattern[str]:
    body = r"\s*".join(re.escape(ch) for ch in key)
    if _LATIN.match(key[0]):
        body = r"(?<![a-z])" + body
    if _LATIN.match(key[-1]):
        body += r"(?![a-z])"
    return re.compile(body)


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """One phrase found in a text."""

    phrase: str
    """The listed phrase (as the table spells it)."""
    target: T
    start: int
    text: str
    """The span as the text spells it (``경기도 광주`` for the phrase ``경기도광주``)."""


class PhraseMatcher(Generic[T]):
    """Maps phrases to targets and finds them in text, longest phrase first, without overlaps."""

    def __init__(self, phrases: Mapping[str, T]) -> None:
        entries: dict[str, tuple[str, T]] = {}
        for phrase, target in phrases.items():
            key = compact(phrase)
            if key and key not in entries:
                entries[key] = (phrase, target)
        # Longest first so a longer phrase claims its span before the phrases inside it are tried.
        self._entries = [
            (key, _pattern(key), phrase, target)
            for key, (phrase, target) in sorted(entries.items(), key=lambda kv: -len(kv[0]))
        ]

    def find(self, text: str) -> list[Found[T]]:
        """Every phrase in ``text`` that no longer phrase covers, in text order."""
        norm = normalize(text)
        squeezed = "".join(norm.split())
        taken: list[tuple[int, int]] = []
        found: list[Found[T]] = []
        for key, pattern, phrase, target in self._entries:
            if key not in squeezed:  # cheap filter before the regex
                continue
            for match in pattern.finditer(norm):
                start, end = match.span()
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                taken.append((start, end))
                found.append(Found(phrase, target, start, match.group(0)))
        return sorted(found, key=lambda f: f.start)
