"""The character catalogue (``eco2/data/characters/catalogue.yaml``): loaded, validated and searchable.

The character server answers from it. The ``character`` subagent reads only its names, aliases and
keywords, to notice "페티" or "비닐 캐릭터" in a message and pick the ``match_label`` to ask the service
about without a round trip (the original Eco² worker kept such a name table too); what a character says,
its type and its rewards always come from the service. The file is hand written, so the loader is strict:
an unknown key is a typo far more often than an extension, and every problem names the character at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from eco2.domain.text import compact, normalize

__all__ = [
    "ACTION_LABELS",
    "MAX_REWARD_COUNT",
    "REWARD_ACTIONS",
    "Catalogue",
    "CatalogueError",
    "CharacterEntry",
    "TermIndex",
    "load_catalogue",
    "normalize",
]

REWARD_ACTIONS = ("correct_disposal", "image_scan", "quiz_answer")
"""Actions that earn points, in the order of the proto's ``RewardAction`` values 1, 2, 3."""
ACTION_LABELS = {"correct_disposal": "올바른 분리배출", "image_scan": "사진 인식", "quiz_answer": "퀴즈 정답"}
"""How answers name each reward action."""
MAX_REWARD_COUNT = 1000
"""Largest number of actions a reward request may ask about."""

_REQUIRED = frozenset(
    {"code", "name", "match_label", "category_name", "aliases", "keywords", "type", "personality", "likes"}
    | {"dialog", "how_to_meet", "badge"}
)
_OPTIONAL = frozenset({"labels", "default"})
_CODE = re.compile(r"^[a-z][a-z0-9-]*$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
SERVICE_NAMES = ("이코에코", "eco²", "에코²", "ecoeco", "eco2")
"""The app's own names: "이코에코 캐릭터" asks about the characters, not about 이코."""
NOT_NAMES = ("애플리케이션", "어플리케이션", "플리마켓", "배리어프리", "배리어")
"""Common words that contain a character's name (플리, 배리); matched first so they are skipped."""


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the character at fault."""


@dataclass(frozen=True, slots=True)
class CharacterEntry:
    """One character as the catalogue declares it."""

    code: str
    """Stable id, e.g. ``eco-char-petty`` (the ``character_code`` of the proto)."""
    name: str
    """Korean name, e.g. ``페티``."""
    match_label: str
    """Waste category id of eco2's corpus (``clear_pet``), or ``default`` for the representative one."""
    labels: tuple[str, ...]
    """Other labels the service accepts for ``match_label`` (the original's Korean ones: ``무색페트병``)."""
    category_name: str
    character_type: str
    personality: str
    likes: tuple[str, ...]
    dialog: tuple[str, ...]
    """Lines the character says; the first is its greeting."""
    how_to_meet: str
    badge_name: str
    badge_threshold: int
    """Correct disposals of the category that unlock the badge."""
    aliases: tuple[str, ...]
    """What users call the character (name, romanisations): found in messages by the subagent."""
    keywords: tuple[str, ...]
    """Category words ("비닐", "페트병") that point at this character when no name is said."""
    default: bool = False


@dataclass(frozen=True, slots=True)
class TermIndex:
    """Finds terms (Korean or ASCII) in free text: longest first, tolerant of spaces inside Korean terms."""

    pattern: re.Pattern[str] | None
    owners: Mapping[str, CharacterEntry | None]
    """Compact term -> its character; ``None`` for terms matched only to be ignored (the app's name)."""

    @classmethod
    def build(cls, terms: Iterable[tuple[str, CharacterEntry | None]]) -> TermIndex:
        """Index ``(term, owner)`` pairs; later duplicates of a term are ignored."""
        owners: dict[str, CharacterEntry | None] = {}
        for term, owner in terms:
            owners.setdefault(compact(term), owner)
        alternatives = [_term_regex(term) for term in sorted(owners, key=len, reverse=True) if term]
        pattern = re.compile("|".join(alternatives)) if alternatives else None
        return cls(pattern, owners)

    def find(self, text: str) -> list[tuple[CharacterEntry, str]]:
        """Characters whose terms occur in ``text``, in order of appearance, each with the matched term."""
        if self.pattern is None:
            return []
        found: list[tuple[CharacterEntry, str]] = []
        for match in self.pattern.finditer(normalize(text)):
            owner = self.owners.get(compact(match.group(0)))
            if owner is not None:
                found.append((owner, compact(match.group(0))))
        return found


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every character plus the points each action earns."""

    characters: tuple[CharacterEntry, ...]
    points: Mapping[str, int]
    """Points per action (keys: ``REWARD_ACTIONS``)."""

    @property
    def default(self) -> CharacterEntry:
        """The representative character (exactly one is marked ``default``)."""
        return next(c for c in self.characters if c.default)

    def by_code(self, code: str) -> CharacterEntry | None:
        """The character whose code is ``code``."""
        return next((c for c in self.characters if c.code == code.strip()), None)

    def by_label(self, label: str) -> CharacterEntry | None:
        """The character for a category id or one of its Korean labels (case and spaces ignored)."""
        wanted = compact(label)
        for entry in self.characters:
            if wanted in {compact(x) for x in (entry.match_label, *entry.labels)}:
                return entry
        return None

    def name_index(self) -> TermIndex:
        """Names and aliases (and the app's own names, to be skipped)."""
        pairs = [(alias, c) for c in self.characters for alias in (c.name, *c.aliases)]
        return TermIndex.build([*((name, None) for name in (*SERVICE_NAMES, *NOT_NAMES)), *pairs])

    def keyword_index(self) -> TermIndex:
        """Category keywords."""
        return TermIndex.build((keyword, c) for c in self.characters for keyword in c.keywords)


def _term_regex(term: str) -> str:
    if term.isascii():
        return rf"\b{re.escape(term)}\b"
    return r"\s*".join(re.escape(ch) for ch in term)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate a catalogue file; ``None`` means the one bundled with eco2 (parsed once)."""
    if path is None:
        return _bundled()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read ({exc.strerror})") from exc
    return parse_catalogue(text, str(path))


@lru_cache(maxsize=1)
def _bundled() -> Catalogue:
    text = (resources.files("eco2") / "data" / "characters" / "catalogue.yaml").read_text(encoding="utf-8")
    return parse_catalogue(text, "catalogue.yaml")


def parse_catalogue(text: str, where: str = "catalogue") -> Catalogue:
    """Parse and validate catalogue YAML."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{where}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) != {"rewards", "characters"}:
        raise CatalogueError(f"{where}: the top level must have exactly 'rewards' and 'characters'")
    points = _points(raw["rewards"], where)
    if not isinstance(raw["characters"], list) or not raw["characters"]:
        raise CatalogueError(f"{where}: 'characters' must be a non-empty list")
    characters = tuple(_entry(item, f"{where}: character #{n}") for n, item in enumerate(raw["characters"]))
    _check_unique(characters, where)
    return Catalogue(characters, points)


def _points(raw: object, where: str) -> dict[str, int]:
    points = raw.get("points") if isinstance(raw, dict) else None
    if not isinstance(points, dict) or set(points) != set(REWARD_ACTIONS):
        raise CatalogueError(f"{where}: rewards.points must give points for {', '.join(REWARD_ACTIONS)}")
    if not all(isinstance(v, int) and v > 0 for v in points.values()):
        raise CatalogueError(f"{where}: rewards.points must be positive integers")
    return {str(k): int(v) for k, v in points.items()}


def _entry(raw: object, where: str) -> CharacterEntry:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: must be a mapping")
    where = f"{where} ({raw.get('code', '?')})"
    keys = set(raw)
    if missing := _REQUIRED - keys:
        raise CatalogueError(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown := keys - _REQUIRED - _OPTIONAL:
        raise CatalogueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    code, label = str(raw["code"]), str(raw["match_label"])
    if not _CODE.match(code) or not _LABEL.match(label):
        raise CatalogueError(f"{where}: code and match_label must be lower-case ASCII slugs")
    dialog = _strings(raw["dialog"], f"{where}: dialog")
    if len(dialog) < 2:
        raise CatalogueError(f"{where}: dialog needs at least two lines")
    badge = raw["badge"]
    if not isinstance(badge, dict) or set(badge) != {"name", "threshold"}:
        raise CatalogueError(f"{where}: badge must have exactly name and threshold")
    if not isinstance(badge["threshold"], int) or badge["threshold"] < 1:
        raise CatalogueError(f"{where}: badge threshold must be a positive integer")
    texts = {k: str(raw[k]).strip() for k in ("name", "category_name", "type", "personality", "how_to_meet")}
    if not all(texts.values()):
        raise CatalogueError(f"{where}: name, category_name, type, personality and how_to_meet must not be empty")
    return CharacterEntry(
        code=code,
        name=texts["name"],
        match_label=label,
        labels=_strings(raw.get("labels", []), f"{where}: labels"),
        category_name=texts["category_name"],
        character_type=texts["type"],
        personality=texts["personality"],
        likes=_strings(raw["likes"], f"{where}: likes"),
        dialog=dialog,
        how_to_meet=texts["how_to_meet"],
        badge_name=str(badge["name"]),
        badge_threshold=int(badge["threshold"]),
        aliases=_strings(raw["aliases"], f"{where}: aliases"),
        keywords=_strings(raw["keywords"], f"{where}: keywords"),
        default=raw.get("default") is True,
    )


def _strings(raw: object, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise CatalogueError(f"{where}: must be a list of non-empty strings")
    return tuple(x.strip() for x in raw)


def _check_unique(characters: tuple[CharacterEntry, ...], where: str) -> None:
    if sum(c.default for c in characters) != 1:
        raise CatalogueError(f"{where}: exactly one character must be marked default: true")
    seen: dict[str, str] = {}
    for c in characters:
        names = [c.code, c.match_label, *c.labels, c.name, *c.aliases, *c.keywords]
        for term in {compact(x) for x in names}:
            if term in seen and seen[term] != c.code:
                raise CatalogueError(f"{where}: {term!r} is used by both {seen[term]} and {c.code}")
            seen[term] = c.code
