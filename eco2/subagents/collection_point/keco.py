"""KECO's collection-point dataset on odcloud (한국환경공단 폐전자제품 수거함 위치정보, data.go.kr 15106385).

Columns: ``순번, 상호명, 수거종류, 수거방법, 수거장소(주소), 장소구분, 수거비용``. The dataset lists
collection bins and drop-off points (민팃 ATMs, 행정복지센터, electronics stores, apartment
complexes); its 수거종류 are mostly 폐휴대폰 and 중소형 폐가전. It has no coordinates: distances
need a geocoder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eco2.subagents.collection_point.odcloud import OdcloudClient

DATASET_PATH = "15106385/v1/uddi:4977d714-dca6-4bda-a10f-9bed30e2ce9c"
"""From the data.go.kr dataset page (15106385, its odcloud Swagger ``namespace=15106385/v1``): each
re-upload of the file gets a new ``uddi``, so override it with the constructor's ``dataset_path`` when
the portal lists a newer one."""
DATASET_URL = "https://www.data.go.kr/data/15106385/fileData.do"
"""The dataset's page (terms, columns, the current ``uddi`` under "오픈API")."""

KIND_COLUMN = "수거종류"
ADDRESS_COLUMN = "수거장소(주소)"

_SPLIT = re.compile(r"\s*[,·/|]\s*")


def _text(row: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


@dataclass(frozen=True, slots=True)
class CollectionPoint:
    """One collection point as the dataset describes it."""

    name: str
    address: str
    kinds: tuple[str, ...] = ()
    method: str = ""
    place_type: str = ""
    fee: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CollectionPoint:
        """Read one ``data`` row (alternative spellings of the address column are accepted)."""
        kinds = _text(row, KIND_COLUMN, "수거품목")
        return cls(
            name=_text(row, "상호명", "장소명", "시설명"),
            address=_text(row, ADDRESS_COLUMN, "수거장소", "주소", "소재지도로명주소"),
            kinds=tuple(k for k in _SPLIT.split(kinds) if k),
            method=_text(row, "수거방법"),
            place_type=_text(row, "장소구분"),
            fee=_text(row, "수거비용"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the result's ``data``."""
        return {
            "name": self.name,
            "address": self.address,
            "kinds": list(self.kinds),
            "method": self.method,
            "place_type": self.place_type,
            "fee": self.fee,
        }


@dataclass(frozen=True, slots=True)
class CollectionPointPage:
    """Points matching a search and how many the dataset holds."""

    points: tuple[CollectionPoint, ...]
    match_count: int
    total_count: int


class KecoCollectionPoints:
    """Searches the dataset by kind (``수거종류 LIKE``) and area (``수거장소(주소) LIKE``)."""

    def __init__(self, client: OdcloudClient, dataset_path: str = DATASET_PATH) -> None:
        self._client = client
        self._dataset_path = dataset_path

    def search(self, kind: str = "", area: str = "", per_page: int = 200) -> CollectionPointPage:
        """Points whose kinds contain ``kind`` and address contains ``area`` (empty = no filter)."""
        filters = {f"{KIND_COLUMN}::LIKE": kind, f"{ADDRESS_COLUMN}::LIKE": area}
        page = self._client.query(self._dataset_path, filters, per_page=per_page)
        points = tuple(CollectionPoint.from_row(row) for row in page.rows)
        return CollectionPointPage(tuple(p for p in points if p.address), page.match_count, page.total_count)
