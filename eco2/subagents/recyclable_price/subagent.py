"""The ``recyclable_price`` subagent: what KECO's survey says an item sells for per kg, in the user's region.

It needs no key and no network: the table is bundled, or imported from KECO's monthly file with
``eco2 prices import`` (see :mod:`eco2.prices`). Every answer states the survey month, because these are
monthly survey averages that go stale, and says that buyers pay their own prices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.subagents import SubagentPort
from eco2.prices import (
    NATIONWIDE,
    REGIONS,
    PriceBook,
    PriceTable,
    RegionMatch,
    RegionResolver,
    default_resolver,
    month_label,
)
from eco2.prices._text import PhraseMatcher
from eco2.subagents.context import SubagentContext

NAME = "recyclable_price"
MAX_ITEMS = 6
STALE_AFTER_MONTHS = 3
"""A survey this many months old gets a "may have changed" note (KECO publishes around the 10th)."""
BUYER_NOTE = (
    "※ 재활용업체가 사들이는 가격을 권역별로 평균 낸 조사값이라, 고물상·수거업체가 실제로 쳐주는 값은 "
    "업체와 품질(이물질·압착 상태), 양에 따라 달라요."
)
ASK_REGION = "사는 지역(시·도나 시·군)을 알려주시면 그 권역 시세로 알려드릴게요."
ASK_ITEM = "궁금한 품목(예: 신문지, 페트병, 알루미늄캔, 고철)을 알려주시면 그 품목 시세를 알려드릴게요."
_HINT_PLACES = ("region", "address", "location")


@dataclass(frozen=True, slots=True)
class _Matchers:
    table: PriceTable
    items: PhraseMatcher[tuple[str, ...]]
    tips: PhraseMatcher[str]


def _matchers(table: PriceTable) -> _Matchers:
    phrases: dict[str, tuple[str, ...]] = {}
    for word, ids in table.groups.items():
        phrases[word] = ids
    for item in table.items.values():
        for word in (item.name, *item.words, *item.keco):
            phrases.setdefault(word, (item.id,))
    return _Matchers(table, PhraseMatcher(phrases), PhraseMatcher(dict(table.tips)))


def won(value: float) -> str:
    """``1200.0`` -> ``1,200원``; survey prices with decimals keep one."""
    return f"{int(value):,}원" if float(value).is_integer() else f"{value:,.1f}원"


def months_between(month: str, today: date) -> int:
    """Whole months from the survey month ``YYYY-MM`` to ``today``."""
    year, mon = (int(part) for part in month.split("-"))
    return (today.year - year) * 12 + today.month - mon


class RecyclablePrice:
    """Implements ``SubagentPort`` for ``recyclable_price`` over a :class:`PriceBook`."""

    def __init__(
        self,
        book: PriceBook,
        resolver: RegionResolver | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._book = book
        self._resolver = resolver
        self._today = today
        self._cache: _Matchers | None = None

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Price the items named in the message (or the vision item) for the user's region."""
        table = self._book.current()
        matchers = self._cache if self._cache is not None and self._cache.table is table else _matchers(table)
        self._cache = matchers
        text = " ".join(part for part in (query.hints.get("item", ""), query.message) if part)
        named = list(dict.fromkeys(i for found in matchers.items.find(text) for i in found.target))
        priced = [i for i in named if table.priced(i)][:MAX_ITEMS]
        unpriced = [table.items[i].name for i in named if not table.priced(i)]
        region = self._region(query)
        tips = list(dict.fromkeys(found.target for found in matchers.tips.find(text)))
        shown = priced or [i for i in table.overview if table.priced(i)]
        lines = [f"재활용품 시세 ({table.survey.title}, {month_label(table.survey.month)} 조사, 1kg 기준)"]
        if region is not None:
            lines.append(_region_line(region))
        if not priced:
            lines.append(
                f"{', '.join(unpriced)}은(는) 이번 조사에 값이 없어 주요 품목 시세를 보여드려요."
                if unpriced
                else "질문에서 조사 품목을 찾지 못해 주요 품목 시세를 보여드려요."
            )
        elif unpriced:
            lines.append(f"{', '.join(unpriced)}은(는) 이번 조사에 값이 없어요.")
        lines.extend(_item_line(table, i, region.region if region else None) for i in shown)
        lines.extend(f"※ {tip}" for tip in tips)
        lines.append(BUYER_NOTE)
        if months_between(table.survey.month, self._today()) >= STALE_AFTER_MONTHS:
            lines.append(f"※ {month_label(table.survey.month)} 조사 값이라 지금 시세와 차이가 있을 수 있어요.")
        if region is None:
            lines.append(ASK_REGION)
        if not priced:
            lines.append(ASK_ITEM)
        lines.append(f"출처: {table.survey.title} ({month_label(table.survey.month)}, 공공데이터포털)")
        return SubagentResult(
            NAME,
            ResultStatus.OK,
            summary="\n".join(lines),
            data=_data(table, shown, bool(priced), unpriced, region),
            sources=(Source(f"{table.survey.title} ({month_label(table.survey.month)})", table.survey.url),),
        )

    def _region(self, query: SubagentQuery) -> RegionMatch | None:
        resolver = self._resolver or default_resolver()
        for key in _HINT_PLACES:
            if query.hints.get(key) and (match := resolver.from_text(query.hints[key], source="hint")):
                return match
        match = resolver.from_text(query.message)
        if match is None and query.user_location is not None:
            match = resolver.from_point(query.user_location)
        return match


def _nationwide_label(table: PriceTable) -> str:
    return NATIONWIDE if table.survey.nationwide == "survey" else f"{len(REGIONS)}개 권역 평균"


def _region_line(region: RegionMatch) -> str:
    if region.region is None:
        return f"지역: {region.area} 지역은 조사 권역에 없어 전국 값으로 안내해요."
    if region.place == region.region:
        return f"지역: {region.region} 권역 기준"
    return f"지역: {region.place} → {region.region} 권역 기준"


def _item_line(table: PriceTable, item_id: str, region: str | None) -> str:
    name = table.items[item_id].name
    nationwide = table.price(item_id, NATIONWIDE)
    label = _nationwide_label(table)
    national = f"{label} {won(nationwide)}" if nationwide is not None else f"{label} 값 없음"
    if region is not None:
        local = table.price(item_id, region)
        if local is not None:
            return f"- {name}: {region} {won(local)} ({national})"
        return f"- {name}: {region} 권역은 조사되지 않았어요 ({national})"
    regional = [p for r in REGIONS if (p := table.price(item_id, r)) is not None]
    spread = f" (권역별 {won(min(regional))}~{won(max(regional))})" if len(set(regional)) > 1 else ""
    return f"- {name}: {national}{spread}"


def _data(
    table: PriceTable, shown: list[str], matched: bool, unpriced: list[str], region: RegionMatch | None
) -> dict[str, Any]:
    column = region.region if region else None
    return {
        "month": table.survey.month,
        "unit": table.survey.unit,
        "table": "imported" if table.survey.imported_from else "bundled",
        "nationwide_basis": table.survey.nationwide,
        "matched": matched,
        "region": column,
        "region_from": region.source if region else None,
        "place": region.place if region else None,
        "items": [
            {
                "id": i,
                "name": table.items[i].name,
                "category": table.items[i].category,
                "region_price": table.price(i, column) if column else None,
                "nationwide": table.price(i, NATIONWIDE),
            }
            for i in shown
        ],
        "unpriced": unpriced,
    }


def build(ctx: SubagentContext) -> SubagentPort:
    """The subagent over the bundled table and any import under ``state_dir`` (no I/O until a question)."""
    return RecyclablePrice(PriceBook(ctx.settings.state_dir))
