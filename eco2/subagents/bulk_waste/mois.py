"""Client of MOIS's household-waste disposal API (행정안전부 생활쓰레기배출정보, data.go.kr 15155080).

``GET {base}/info?serviceKey=..&pageNo=1&numOfRows=100&returnType=json&cond[SGG_NM::LIKE]=강남구``
returns one row per management zone (관리구역) of a 시군구: where and when general, food and
recyclable waste go out, how bulky waste (대형폐기물) is handled, and the responsible department.
Field names vary between releases (``TMPRY_BULK_WASTE_EMSN_MTHD`` in the live data,
``BULK_WST_EMSN_MTHD`` in some documentation; ``MNG_DEPT_TELNO`` vs ``MNG_DEPT_TEL``), so each field
is read from every known spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import unquote

from eco2.adapters import datagokr
from eco2.adapters.http.upstream import HttpUpstream
from eco2.config import Secret

MAX_ROWS = 100
"""The API's upper bound of ``numOfRows``."""
DATASET_URL = "https://www.data.go.kr/data/15155080/openapi.do"
"""The dataset page (its terms, fields and key application)."""

_EMPTY_VALUES = frozenset({"", "-", "없음", "해당없음", "해당 없음", "null", "NULL", "N/A"})


def _text(item: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty value among ``keys`` ("해당없음" and friends count as empty)."""
    for key in keys:
        value = item.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if text not in _EMPTY_VALUES:
            return text
    return ""


@dataclass(frozen=True, slots=True)
class HouseholdWasteRow:
    """One management zone of a 시군구, reduced to what an answer about bulky waste needs."""

    sido: str
    sigungu: str
    zone: str = ""
    """관리구역명 (``MNG_ZONE_NM``)."""
    zone_areas: str = ""
    """The 읍면동 the zone covers (``MNG_ZONE_TRGT_RGN_NM``, ``EMD_NM``), ``+``-separated upstream."""
    place: str = ""
    """Where household waste goes out (``EMSN_PLC``)."""
    bulk_method: str = ""
    bulk_place: str = ""
    bulk_days: str = ""
    bulk_hours: str = ""
    general_days: str = ""
    general_hours: str = ""
    uncollected_days: str = ""
    department: str = ""
    phone: str = ""
    data_date: str = ""
    """데이터기준일자 (``DAT_CRTR_YMD``)."""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> HouseholdWasteRow:
        """Read one ``items`` row, tolerating the field spellings seen across releases."""
        return cls(
            sido=_text(item, "CTPV_NM"),
            sigungu=_text(item, "SGG_NM"),
            zone=_text(item, "MNG_ZONE_NM"),
            zone_areas=_text(item, "MNG_ZONE_TRGT_RGN_NM", "EMD_NM"),
            place=_text(item, "EMSN_PLC"),
            bulk_method=_text(item, "TMPRY_BULK_WASTE_EMSN_MTHD", "BULK_WST_EMSN_MTHD"),
            bulk_place=_text(item, "TMPRY_BULK_WASTE_EMSN_PLC", "BULK_WST_EMSN_PLC"),
            bulk_days=_text(item, "TMPRY_BULK_WASTE_EMSN_DOW", "BULK_WST_EMSN_DOW"),
            bulk_hours=_hours(item, "TMPRY_BULK_WASTE_EMSN_BGNG_TM", "TMPRY_BULK_WASTE_EMSN_END_TM"),
            general_days=_text(item, "LF_WST_EMSN_DOW"),
            general_hours=_hours(item, "LF_WST_EMSN_BGNG_TM", "LF_WST_EMSN_END_TM"),
            uncollected_days=_text(item, "UNCLLT_DAY"),
            department=_text(item, "MNG_DEPT_NM"),
            phone=_text(item, "MNG_DEPT_TELNO", "MNG_DEPT_TEL"),
            data_date=_text(item, "DAT_CRTR_YMD", "DAT_UPDT_PNT", "LAST_MDFCN_PNT"),
        )

    def to_dict(self) -> dict[str, str]:
        """JSON form for the result's ``data`` (empty fields left out)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name))}


def _hours(item: Mapping[str, Any], begin_key: str, end_key: str) -> str:
    begin, end = _clock(_text(item, begin_key)), _clock(_text(item, end_key))
    if begin and end:
        return f"{begin}~{end}"
    return begin or end


def _clock(value: str) -> str:
    """``1800`` -> ``18:00``; other spellings are kept as given."""
    digits = value.replace(":", "")
    if len(digits) == 4 and digits.isdigit():
        return f"{digits[:2]}:{digits[2:]}"
    return value


@dataclass(frozen=True, slots=True)
class HouseholdWastePage:
    """The rows found for a 시군구 and how many exist upstream."""

    rows: tuple[HouseholdWasteRow, ...]
    total_count: int


class MoisHouseholdWaste:
    """Looks up a 시군구's waste disposal rules; errors follow ``eco2.adapters.datagokr`` (retryable vs permanent)."""

    name = "mois"

    def __init__(self, upstream: HttpUpstream, service_key: Secret) -> None:
        self._upstream = upstream
        self._service_key = service_key

    def search(self, sigungu: str, rows: int = MAX_ROWS) -> HouseholdWastePage:
        """Rows whose ``SGG_NM`` contains ``sigungu`` (first page, at most :data:`MAX_ROWS`)."""
        params = {
            "serviceKey": _decoded(self._service_key.reveal()),
            "pageNo": 1,
            "numOfRows": max(1, min(rows, MAX_ROWS)),
            "returnType": "json",
            "cond[SGG_NM::LIKE]": sigungu,
        }
        response = self._upstream.get("info", params=params)
        # Decoded here, not via ``response.text``: the gateway omits the charset and requests would guess.
        page = datagokr.parse(self._upstream.name, response.content.decode("utf-8", errors="replace"))
        return HouseholdWastePage(tuple(HouseholdWasteRow.from_item(item) for item in page.items), page.total_count)


def _decoded(key: str) -> str:
    """The portal shows an "Encoding" and a "Decoding" key; requests encodes once, so send the decoded one."""
    return unquote(key) if "%" in key else key
