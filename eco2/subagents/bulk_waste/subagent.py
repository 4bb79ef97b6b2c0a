"""The ``bulk_waste`` subagent: how to dispose of a large item in the user's 시군구, and what it typically costs.

The district's disposal method, place and contact come live from MOIS's household-waste API (``.mois``);
fees come from the project's own table (``eco2/data/bulk_waste/fees.yaml``, read by ``.fees``) because no
public API returns them, so every fee is labelled typical and paired with the district's page. The district
is the one named in the message, else the one at the user's position (``eco2.subagents.district``, with
Kakao); without either the subagent asks for one (``needs_input``) instead of guessing: rules and fees
differ per 시군구.

Without ``DATA_GO_KR_SERVICE_KEY`` it still answers (:class:`TypicalBulkWaste`, no I/O): how to apply,
the typical fees with their caveat, the district's own page when the table has it, and which setting
enables the district's rules.
"""

from __future__ import annotations

from typing import Any

from eco2.domain.districts import UNLOCATED_NOTE, District, candidate_names, resolve_in, same_sido
from eco2.domain.subagents import ResultStatus, Source, SubagentQuery, SubagentResult
from eco2.ports.geo import RegionLookupPort
from eco2.ports.subagents import SubagentPort
from eco2.subagents.bulk_waste.fees import DistrictFees, FeeTable, Item, load_fee_table
from eco2.subagents.bulk_waste.mois import DATASET_URL, HouseholdWasteRow, MoisHouseholdWaste
from eco2.subagents.context import SubagentContext
from eco2.subagents.district import locate, region_lookup
from eco2.subagents.unavailable import NotConfigured

NAME = "bulk_waste"
MAX_LINES = 2
"""Distinct methods/places/contacts shown when a district's zones differ."""
SETTING = "DATA_GO_KR_SERVICE_KEY"
"""The setting that enables the district's own rules (MOIS household-waste API)."""
WITHOUT_KEY = (
    f"구·군별 배출 방법·요일·담당 부서는 {SETTING}(공공데이터포털 인증키, 행정안전부 생활쓰레기배출정보 "
    "활용신청)를 설정하면 찾아 드릴 수 있어요."
)
HOW_TO_APPLY = (
    "- 신고: 구청·주민센터를 방문하거나 구청 누리집의 '대형폐기물 신고' 메뉴(지역에 따라 빼기 앱)로 신고하고 "
    "수수료를 내세요."
)
HOW_TO_PUT_OUT = (
    "- 배출: 수수료를 내면 받는 스티커(납부필증)를 붙이거나 접수번호를 적어, 안내받은 날 정해진 곳에 내놓으세요."
)


class BulkWaste:
    """Implements ``SubagentPort`` for ``bulk_waste`` on the MOIS client and the fee table."""

    def __init__(
        self, client: MoisHouseholdWaste, fees: FeeTable | None = None, regions: RegionLookupPort | None = None
    ) -> None:
        self._client = client
        self._table = fees
        self._regions = regions

    @property
    def _fees(self) -> FeeTable:
        """The fee table, read on first use so that building the subagent reads no files."""
        return self._table or load_fee_table()

    def run(self, query: SubagentQuery) -> SubagentResult:
        """Resolve the district (or ask), look it up in MOIS and add typical fees for the items named."""
        items = self._fees.find_items(f"{query.hints.get('item', '')} {query.message}")
        located = locate(query, self._regions)
        resolution = located.resolution
        district = resolution.district
        if district is None:
            return self._ask(resolution.candidates, resolution.sido, items, query.user_location is not None)
        page = self._client.search(district.query_name)
        rows = [r for r in page.rows if not r.sido or same_sido(r.sido, district.sido)]
        if district.gu:
            rows = [r for r in rows if district.gu in f"{r.sigungu} {r.zone} {r.zone_areas}"] or rows
        entry = self._fees.district(district)
        data: dict[str, Any] = {
            "district": district.label,
            "sido": district.sido,
            "sigungu": district.sigungu,
            "rows": [r.to_dict() for r in rows[:5]],
            "total_count": page.total_count,
            "items": [i.id for i in items],
            "fee_table": entry.fee_url if entry else "",
            "fee_as_of": entry.as_of if entry else "",
            "district_from": located.source,
            "region": located.region.label if located.region else "",
        }
        summary = "\n".join(p for p in (located.assumed(), self._summary(district, rows, entry, items)) if p)
        status = ResultStatus.OK if rows or entry else ResultStatus.EMPTY
        sources = (
            Source("행정안전부 생활쓰레기배출정보 (공공데이터포털)", DATASET_URL),
            *_table_sources(self._fees, district, entry, items),
        )
        return SubagentResult(NAME, status, summary=summary, data=data, sources=sources)

    def _ask(self, candidates: tuple[District, ...], sido: str, items: list[Item], located: bool) -> SubagentResult:
        if candidates:
            question = (
                f"말씀하신 지역이 여러 곳({candidate_names(candidates)})에 있어요. "
                f"어느 시·도의 {candidates[0].short_label}인지 알려주세요."
            )
        elif sido:
            question = f"{sido}의 어느 구·군인지 알려주세요. 구·군마다 신고 방법과 수수료가 달라요."
        else:
            question = (
                "어느 시·군·구에서 버리실 건가요? 예: '강남구 소파', '수원시 장롱'처럼 알려주시면 "
                "그 지역의 신고 방법과 담당 부서를 찾아 드릴게요."
            )
            if located:
                question += UNLOCATED_NOTE
        lines = [question, *_fee_lines(self._fees, None, items[:1])]
        data = {"missing": "district", "items": [i.id for i in items], "candidates": [c.label for c in candidates]}
        return SubagentResult(NAME, ResultStatus.NEEDS_INPUT, summary="\n".join(lines), data=data)

    def _summary(
        self, district: District, rows: list[HouseholdWasteRow], entry: DistrictFees | None, items: list[Item]
    ) -> str:
        lines = [f"[{district.label} 대형폐기물 배출 안내]"]
        lines.extend(_row_lines(rows) or ["- 행정안전부 생활쓰레기배출정보에는 이 지역의 대형폐기물 항목이 없어요."])
        if entry:
            contact = f" (문의 {entry.phone})" if entry.phone else ""
            lines.append(f"- 신고: {district.short_label} 대형폐기물 신청 {entry.application_url}{contact}")
        else:
            lines.append(
                f"- 신고: {district.short_label}청 누리집의 '대형폐기물 신고' 메뉴, 주민센터 방문 또는 빼기 앱"
            )
        lines.extend(_fee_lines(self._fees, entry, items))
        lines.extend(_pickup_lines(self._fees, items))
        cited = ["행정안전부 생활쓰레기배출정보(공공데이터포털"]
        dates = sorted({r.data_date for r in rows if r.data_date})
        cited[0] += f", 데이터 기준일 {dates[-1]})" if dates else ")"
        if entry:
            cited.append(f"{entry.source_title}({entry.as_of} 기준)")
        lines.append("출처: " + ", ".join(cited))
        return "\n".join(lines)


class TypicalBulkWaste:
    """What ``bulk_waste`` knows without the MOIS key, at once and with no I/O (see the module docstring).

    Its result is ``ok`` with ``data["source"] == "typical"``: the answer holds real, labelled guidance.
    """

    def __init__(self, fees: FeeTable | None = None) -> None:
        self._table = fees

    def run(self, query: SubagentQuery) -> SubagentResult:
        """How to apply, typical fees of the items named, the district's page when known, the key to set."""
        table = self._table or load_fee_table()
        items = table.find_items(f"{query.hints.get('item', '')} {query.message}")
        district = resolve_in(query.hints.get("district", ""), query.message).district
        entry = table.district(district) if district else None
        lines = [f"[{district.label + ' ' if district else ''}대형폐기물 배출 안내(일반 안내)]"]
        if district and entry:
            contact = f" (문의 {entry.phone})" if entry.phone else ""
            lines.append(
                f"- 신고: {district.short_label} 대형폐기물 신청 {entry.application_url}{contact}, 또는 주민센터 방문"
            )
        else:
            lines.append(HOW_TO_APPLY)
        lines.append(HOW_TO_PUT_OUT)
        lines.extend(_fee_lines(table, entry, items))
        lines.extend(_pickup_lines(table, items))
        lines.append(WITHOUT_KEY)
        data: dict[str, Any] = {
            "source": "typical",
            "setting": SETTING,
            "district": district.label if district else "",
            "items": [i.id for i in items],
            "fee_table": entry.fee_url if entry else "",
            "fee_as_of": entry.as_of if entry else "",
        }
        sources = _table_sources(table, district, entry, items)
        if entry is None:
            sources += tuple(Source(f"{app['name']} ({app['note']})", app["url"]) for app in table.apps)
        return SubagentResult(NAME, ResultStatus.OK, summary="\n".join(lines), data=data, sources=sources)


def _fee_lines(table: FeeTable, entry: DistrictFees | None, items: list[Item]) -> list[str]:
    """Fees of the items named (else three common ones): posted ones dated, the rest typical."""
    shown = items or [i for i in table.items if i.id in {"sofa", "mattress", "wardrobe"}]
    lines = []
    for item in shown[:3]:
        posted = entry.fees.get(item.id) if entry else None
        if posted and entry:
            rows = ", ".join(f"{f.spec} {f.text()}" for f in posted)
            label = f"{entry.as_of} 기준 {entry.sigungu} 게시 금액"
        else:
            rows = ", ".join(f"{f.spec} {f.text()}" for f in item.typical)
            label = "전국 일반 범위, 대략"
        free = " 무상방문수거로 무료로 버릴 수 있어요." if item.free_pickup else ""
        lines.append(f"- {item.name} 수수료({label}): {rows}{free}")
    where = f" {entry.sigungu} 수수료표: {entry.fee_url}" if entry else ""
    lines.append(f"※ {table.caveat}{where}")
    return lines


def _pickup_lines(table: FeeTable, items: list[Item]) -> list[str]:
    """The free appliance pickup, when a large appliance was named."""
    if not any(i.free_pickup for i in items):
        return []
    pickup = table.free_pickup
    return [f"※ {pickup['name']}: {pickup['note'].strip()} 전화 {pickup['phone']}, {pickup['url']}"]


def _table_sources(
    table: FeeTable, district: District | None, entry: DistrictFees | None, items: list[Item]
) -> tuple[Source, ...]:
    """The district's application page and fee source, and the free pickup service when relevant."""
    sources = []
    if district and entry:
        sources.append(Source(f"{district.short_label} 대형폐기물 신청", entry.application_url))
        sources.append(Source(f"{entry.source_title} ({entry.as_of} 기준)", entry.source_url))
    if any(i.free_pickup for i in items):
        sources.append(Source(table.free_pickup["name"], table.free_pickup["url"]))
    return tuple(sources)


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))[:MAX_LINES]


def _row_lines(rows: list[HouseholdWasteRow]) -> list[str]:
    """What the zones say, each distinct value once (zones of one 시군구 usually agree)."""
    lines = []
    methods = _distinct([r.bulk_method for r in rows])
    if methods:
        lines.append("- 배출 방법: " + " / ".join(methods))
    places = _distinct([r.bulk_place for r in rows]) or _distinct([r.place for r in rows])
    if places:
        lines.append("- 배출 장소: " + " / ".join(places))
    times = _distinct([" ".join(p for p in (r.bulk_days, r.bulk_hours) if p) for r in rows])
    if times:
        lines.append("- 배출 요일·시간: " + " / ".join(times))
    contacts = _distinct([" ".join(p for p in (r.department, r.phone) if p) for r in rows])
    if contacts:
        lines.append("- 담당: " + " / ".join(contacts))
    return lines


def build(ctx: SubagentContext) -> SubagentPort:
    """MOIS needs the data.go.kr key; without it the subagent gives the typical answer at once (no I/O).

    With ``KAKAO_REST_API_KEY`` too, the user's position names the district when the message does not.
    """
    key = ctx.settings.data_go_kr_key
    if key is None:
        return NotConfigured(NAME, f"{SETTING} is not set", known=TypicalBulkWaste().run)
    return BulkWaste(MoisHouseholdWaste(ctx.http("mois", ctx.settings.mois_base_url), key), regions=region_lookup(ctx))
