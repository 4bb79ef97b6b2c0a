"""A local Kakao Local server (``dapi.kakao.com``) speaking the real request and response shapes.

- ``GET /v2/local/search/keyword.json``, ``/category.json`` and ``/address.json`` with Kakao's parameters
  and limits (``radius`` 0-20000, ``page`` 1-45, ``size`` 1-15 or 1-30, ``sort`` accuracy|distance), its
  ``meta`` (``total_count``, ``pageable_count``, ``is_end``, ``same_name``) and string-typed documents.
- ``GET /v2/local/geo/coord2regioncode.json?x=<lon>&y=<lat>``: the 법정동 (``region_type`` ``B``) and 행정동
  (``H``) at the point, ``meta`` with ``total_count`` only, numeric ``x``/``y`` (the region's centre);
  no document at a point of no known region (:data:`OPEN_SEA`); 400 when ``x``/``y`` is missing or not a
  number, or ``input_coord`` is not a coordinate system Kakao knows.
- Auth like the real service: ``Authorization: KakaoAK {key}``; a missing or wrong key gets 401
  ``{"errorType": "AccessDeniedError", ...}``. Like Kakao's "wrong appKey(...) format" message, the wrong
  key is echoed in the body, so tests can check that it never reaches eco2's errors.
- Invalid parameters get 400 ``MissingParameter`` / ``InvalidArgument`` bodies.
- ``script(...)`` queues replies for the next requests: each documented error form (:data:`ERRORS`), a
  delay longer than the client timeout, a malformed body, an empty result.

Places and regions are a small fixed world around 강남역 (:data:`PLACES`, :data:`REGIONS`,
:data:`AREAS`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.scripted_server import ScriptedServer

KEY = "test-kakao-rest-key"
JSON = "application/json;charset=UTF-8"
CATEGORY_CODES = frozenset(
    "MT1 CS2 PS3 SC4 AC5 PK6 OL7 SW8 BK9 CT1 AG2 PO3 AT4 AD5 FD6 CE7 HP8 PM9".split()  # noqa: SIM905
)

GANGNAM_STATION = (37.497942, 127.027621)
"""(lat, lon) of 강남역."""
CITY_HALL = (37.566535, 126.977969)
"""서울시청: 8-9 km from the 강남 recycling centres (nothing within 5 km)."""
OPEN_SEA = (33.0, 125.0)
"""Nothing within 20 km, and in no region."""
YEOKSAM = (37.5006, 127.0364)
"""(lat, lon) in 서울 강남구 역삼동 (역삼1동)."""
COORD_SYSTEMS = frozenset("WGS84 WCONGNAMUL CONGNAMUL WTM TM KTM UTM BESSEL WKTM WUTM".split())  # noqa: SIM905


@dataclass(frozen=True)
class Reply:
    """A scripted reply; ``body=None`` serves the request normally (after ``delay_s``)."""

    status: int = 200
    body: dict[str, Any] | bytes | None = None
    delay_s: float = 0.0
    content_type: str = JSON


ERRORS: dict[str, Reply] = {
    "missing_parameter": Reply(400, {"errorType": "MissingParameter", "message": "query parameter required"}),
    "invalid_argument": Reply(400, {"errorType": "InvalidArgument", "message": "size is more than max"}),
    "bad_key": Reply(401, {"errorType": "AccessDeniedError", "message": "cannot find appkey"}),
    "service_disabled": Reply(
        403, {"errorType": "NotAuthorizedError", "message": "App(eco2) disabled OPEN_MAP_AND_LOCAL service."}
    ),
    "throttled": Reply(429, {"errorType": "RequestThrottled", "message": "API limit has been exceeded."}),
    "quota_code": Reply(400, {"code": -10, "msg": "API limit has been exceeded."}),
    "server_error": Reply(500, {"errorType": "InternalServerError", "message": "internal server error"}),
    "bad_gateway": Reply(502, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
}
MALFORMED = Reply(200, b"<html>maintenance</html>", content_type="text/html")
WRONG_SHAPE = Reply(200, {"meta": {"total_count": 1}, "documents": {"not": "a list"}})


_RC = "가정,생활 > 중고용품 > 재활용센터"
_ZW = "가정,생활 > 생활용품점 > 제로웨이스트샵"
_GROUP_NAMES = {"PO3": "공공기관", "PM9": "약국", "CS2": "편의점", "CE7": "카페"}
_TABLE = (
    # id, name, category, group, phone, lot-number address, road address, lat, lon
    ("1001", "강남구재활용센터", _RC, "", "02-555-1234",
     "서울 강남구 역삼동 800-1", "서울 강남구 테헤란로 101", 37.499, 127.03),
    ("1002", "역삼재활용센터", _RC, "", "02-555-2345",
     "서울 강남구 역삼동 702", "서울 강남구 논현로 512", 37.5005, 127.0365),
    ("1003", "서초재활용센터", _RC, "", "", "서울 서초구 서초동 1330", "", 37.492, 127.01),
    ("1004", "강남고물상", "가정,생활 > 고물상", "", "02-566-7788", "서울 강남구 삼성동 10", "", 37.51, 127.05),
    ("2001", "알맹상점 리필스테이션", _ZW, "", "02-6321-0000", "서울 마포구 망원동 400-1", "", 37.556, 126.91),
    ("2002", "더피커 제로웨이스트샵", _ZW, "", "", "서울 성동구 성수동2가 300", "", 37.5446, 127.0559),
    ("3001", "역삼1동행정복지센터", "사회,공공기관 > 행정기관 > 행정복지센터", "PO3", "02-3423-8000",
     "서울 강남구 역삼동 635-1", "서울 강남구 역삼로7길 16", 37.4954, 127.0331),
    ("3002", "강남역약국", "의료,건강 > 약국", "PM9", "02-555-0000", "서울 강남구 역삼동 817", "", 37.4985, 127.028),
    ("3003", "GS25 강남역점", "가정,생활 > 편의점 > GS25", "CS2", "", "서울 강남구 역삼동 818", "", 37.4975, 127.027),
    ("4001", "부산중구재활용센터", _RC, "", "051-600-0000", "부산 중구 중앙동4가 1", "", 35.1036, 129.0363),
    ("4002", "안산단원재활용센터", _RC, "", "031-481-0000", "경기 안산시 단원구 고잔동 500", "", 37.318, 126.838),
)  # fmt: skip
PLACES: list[dict[str, str]] = [
    {
        "id": pid,
        "place_name": name,
        "category_name": category,
        "category_group_code": group,
        "category_group_name": _GROUP_NAMES.get(group, ""),
        "phone": phone,
        "address_name": jibun,
        "road_address_name": road,
        "x": f"{lon:.7f}",
        "y": f"{lat:.7f}",
        "place_url": f"http://place.map.kakao.com/{pid}",
    }
    for pid, name, category, group, phone, jibun, road, lat, lon in _TABLE
]

REGIONS: dict[str, list[tuple[str, float, float]]] = {
    "강남역": [("서울 강남구 역삼동", *GANGNAM_STATION)],
    "역삼동": [("서울 강남구 역삼동", 37.5006, 127.0366)],
    "망원동": [("서울 마포구 망원동", 37.5556, 126.9104)],
    "성수동": [("서울 성동구 성수동", 37.5446, 127.0559)],
    "중앙동": [
        ("부산 중구 중앙동", 35.1036, 129.0363),
        ("경기 안산시 단원구 중앙동", 37.3180, 126.8380),
        ("경기 성남시 중원구 중앙동", 37.4370, 127.1410),
    ],
}

ADDRESSES: dict[str, dict[str, Any]] = {
    "서울 강남구 테헤란로 152": {
        "address_name": "서울 강남구 테헤란로 152",
        "address_type": "ROAD_ADDR",
        "x": "127.036508620542",
        "y": "37.5000242405515",
        "address": {"address_name": "서울 강남구 역삼동 737", "region_1depth_name": "서울", "x": "127.036508620542",
                    "y": "37.5000242405515", "main_address_no": "737", "sub_address_no": "", "mountain_yn": "N"},
        "road_address": {"address_name": "서울 강남구 테헤란로 152", "road_name": "테헤란로", "main_building_no": "152",
                         "sub_building_no": "", "building_name": "강남파이낸스센터", "zone_no": "06236",
                         "underground_yn": "N", "x": "127.036508620542", "y": "37.5000242405515"},
    },
    "서울 마포구 망원동 400-1": {
        "address_name": "서울 마포구 망원동 400-1",
        "address_type": "REGION_ADDR",
        "x": "126.9100",
        "y": "37.5560",
        "address": {"address_name": "서울 마포구 망원동 400-1", "x": "126.9100", "y": "37.5560"},
        "road_address": None,
    },
}  # fmt: skip


# 법정동 (B) and 행정동 (H) by centre: a point belongs to the nearest centre within AREA_RADIUS_M.
# sido, sigungu, 법정동, its code, 행정동, its code, centre (lat, lon)
_AREAS = (
    ("서울특별시", "강남구", "역삼동", "1168010100", "역삼1동", "1168064000", 37.5006, 127.0366),
    ("서울특별시", "서초구", "서초동", "1165010800", "서초4동", "1165065200", 37.4920, 127.0080),
    ("서울특별시", "마포구", "망원동", "1144012300", "망원1동", "1144069000", 37.5556, 126.9104),
    ("서울특별시", "중구", "태평로1가", "1114016200", "명동", "1114055000", 37.5665, 126.9780),
    ("경기도", "수원시 영통구", "매탄동", "4111710100", "매탄1동", "4111756000", 37.2638, 127.0446),
    ("부산광역시", "중구", "중앙동4가", "2611011500", "중앙동", "2611051000", 35.1036, 129.0363),
    ("세종특별자치시", "", "어진동", "3611011800", "도담동", "3611052000", 36.5040, 127.2650),
)
AREA_RADIUS_M = 3_000
AREAS: list[list[dict[str, Any]]] = [
    [
        {
            "region_type": kind,
            "code": code,
            "address_name": " ".join(p for p in (sido, sigungu, dong) if p),
            "region_1depth_name": sido,
            "region_2depth_name": sigungu,
            "region_3depth_name": dong,
            "region_4depth_name": "",
            "x": lon,
            "y": lat,
        }
        for kind, dong, code in (("B", b_dong, b_code), ("H", h_dong, h_code))
    ]
    for sido, sigungu, b_dong, b_code, h_dong, h_code, lat, lon in _AREAS
]
"""The B and H documents of each area, as Kakao sends them."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


class _BadRequestError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.body = {"errorType": error_type, "message": message}


def _compact(text: str) -> str:
    return "".join(text.split()).lower()


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequestError("InvalidArgument", f"{name} is not a number") from None
    if not low <= value <= high:
        raise _BadRequestError("InvalidArgument", f"{name} must be {low}~{high}")
    return value


def _center(params: dict[str, str]) -> tuple[float, float] | None:
    if ("x" in params) != ("y" in params):
        raise _BadRequestError("MissingParameter", "x and y parameter required")
    if "x" not in params:
        return None
    try:
        return float(params["y"]), float(params["x"])
    except ValueError:
        raise _BadRequestError("InvalidArgument", "x, y is not a number") from None


def _page(docs: list[dict[str, str]], params: dict[str, str], max_size: int, same_name: Any) -> dict[str, Any]:
    page = _int_param(params, "page", 1, 1, 45)
    size = _int_param(params, "size", 15 if max_size == 15 else 10, 1, max_size)
    pageable = docs[:45]
    chunk = pageable[(page - 1) * size : page * size]
    meta: dict[str, Any] = {
        "total_count": len(docs),
        "pageable_count": len(pageable),
        "is_end": page * size >= len(pageable),
    }
    if same_name is not False:
        meta["same_name"] = same_name
    return {"meta": meta, "documents": chunk}


def _places(
    params: dict[str, str], keyword: str | None, region_center: tuple[float, float] | None
) -> list[dict[str, str]]:
    center = _center(params)
    sort = params.get("sort", "accuracy")
    if sort not in {"accuracy", "distance"}:
        raise _BadRequestError("InvalidArgument", "sort must be accuracy or distance")
    code = params.get("category_group_code")
    if code is not None and code not in CATEGORY_CODES:
        raise _BadRequestError("InvalidArgument", "category_group_code is invalid")
    radius = _int_param(params, "radius", -1, 0, 20_000) if "radius" in params else None
    found = []
    for place in PLACES:
        lat, lon = float(place["y"]), float(place["x"])
        if keyword and keyword not in _compact(place["place_name"]) and keyword not in _compact(place["category_name"]):
            continue
        if code and place["category_group_code"] != code:
            continue
        if region_center is not None and distance_m(*region_center, lat, lon) > 5_000:
            continue
        doc = dict(place, distance="")
        if center is not None:
            metres = distance_m(*center, lat, lon)
            if radius is not None and metres > radius:
                continue
            doc["distance"] = str(round(metres))
        found.append(doc)
    if sort == "distance" and center is not None:
        found.sort(key=lambda d: int(d["distance"]))
    elif region_center is not None:
        found.sort(key=lambda d: distance_m(*region_center, float(d["y"]), float(d["x"])))
    return found


def keyword_search(params: dict[str, str]) -> dict[str, Any]:
    """``/v2/local/search/keyword.json``: the region word (if any) restricts the area, like Kakao does."""
    query = params.get("query", "").strip()
    if not query:
        raise _BadRequestError("MissingParameter", "query parameter required")
    tokens = query.split()
    names = [t for t in tokens if t in REGIONS]
    keyword = _compact(" ".join(t for t in tokens if t not in REGIONS))
    candidates = REGIONS[names[0]] if names else []
    region_center = (candidates[0][1], candidates[0][2]) if candidates else None
    same_name = {
        "region": [c[0] for c in candidates],
        "keyword": keyword,
        "selected_region": candidates[0][0] if candidates else "",
    }
    return _page(_places(params, keyword, region_center), params, 15, same_name)


def category_search(params: dict[str, str]) -> dict[str, Any]:
    """``/v2/local/search/category.json``: needs a code and x, y, radius (or rect)."""
    if not params.get("category_group_code"):
        raise _BadRequestError("MissingParameter", "category_group_code parameter required")
    if "rect" not in params and not {"x", "y", "radius"} <= params.keys():
        raise _BadRequestError("MissingParameter", "x, y, radius or rect parameter required")
    return _page(_places(params, None, None), params, 15, None)


def address_search(params: dict[str, str]) -> dict[str, Any]:
    """``/v2/local/search/address.json``: exact matches of :data:`ADDRESSES` (road or lot number)."""
    query = params.get("query", "").strip()
    if not query:
        raise _BadRequestError("MissingParameter", "query parameter required")
    if params.get("analyze_type", "similar") not in {"similar", "exact"}:
        raise _BadRequestError("InvalidArgument", "analyze_type must be similar or exact")
    wanted = _compact(query)
    docs = [
        doc
        for doc in ADDRESSES.values()
        if wanted in {_compact(doc["address_name"]), _compact(doc["address"]["address_name"])}
    ]
    return _page(docs, params, 30, False)


def coord_to_region(params: dict[str, str]) -> dict[str, Any]:
    """``/v2/local/geo/coord2regioncode.json``: x (longitude) and y (latitude) are required."""
    if "x" not in params or "y" not in params:
        raise _BadRequestError("MissingParameter", "x and y parameter required")
    for name in ("input_coord", "output_coord"):
        if params.get(name, "WGS84") not in COORD_SYSTEMS:
            raise _BadRequestError("InvalidArgument", f"{name} is invalid")
    try:
        lon, lat = float(params["x"]), float(params["y"])
    except ValueError:
        raise _BadRequestError("InvalidArgument", "x, y is not a number") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _BadRequestError("InvalidArgument", "x, y is not a number")
    near = [(distance_m(lat, lon, docs[0]["y"], docs[0]["x"]), docs) for docs in AREAS]
    metres, docs = min(near, key=lambda pair: pair[0])
    found = docs if metres <= AREA_RADIUS_M else []
    return {"meta": {"total_count": len(found)}, "documents": found}


ROUTES = {
    "/v2/local/search/keyword.json": keyword_search,
    "/v2/local/search/category.json": category_search,
    "/v2/local/search/address.json": address_search,
    "/v2/local/geo/coord2regioncode.json": coord_to_region,
}


class _Handler(BaseHTTPRequestHandler):
    server: FakeKakao

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.server.record(url.path, params, dict(self.headers))
        scripted: Reply | None = self.server.next_mode()
        if scripted is not None and scripted.delay_s:
            time.sleep(scripted.delay_s)
        if scripted is not None and scripted.body is not None:
            self._send(scripted.status, scripted.body, scripted.content_type)
            return
        auth = self.headers.get("Authorization")
        if not auth:
            self._send(401, {"errorType": "AccessDeniedError", "message": "cannot find appkey"})
            return
        if auth != f"KakaoAK {self.server.key}":
            given = auth.removeprefix("KakaoAK ").strip()
            self._send(401, {"errorType": "AccessDeniedError", "message": f"wrong appKey({given}) format"})
            return
        route = ROUTES.get(url.path)
        if route is None:
            self._send(404, {"errorType": "NotFound", "message": "not found"})
            return
        try:
            self._send(200, route(params))
        except _BadRequestError as exc:
            self._send(400, exc.body)

    def _send(self, status: int, body: dict[str, Any] | bytes, content_type: str = JSON) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


class FakeKakao(ScriptedServer):
    """Run with ``with FakeKakao() as kakao:``; ``kakao.base_url`` is ``ECO2_KAKAO_BASE_URL``.

    ``script(Reply(...), ...)`` answers the next requests with those replies, in order (then normally again).
    """

    def __init__(self, key: str = KEY) -> None:
        super().__init__(_Handler)
        self.key = key
        self.default_mode = None

    @property
    def base_url(self) -> str:
        """The base URL to configure instead of ``https://dapi.kakao.com``."""
        return f"http://127.0.0.1:{self.server_address[1]}"
