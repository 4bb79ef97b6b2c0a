"""A local stand-in for odcloud (``api.odcloud.kr/api``) serving KECO's collection-point dataset (15106385).

It answers like the real gateway: ``{page, perPage, totalCount, currentCount, matchCount, data}`` with
Korean column names, ``cond[col::LIKE]`` filters, ``perPage`` up to 1000, the key checked in
``Authorization: Infuser {key}`` or ``serviceKey``, and the gateway's ``{"code": ..., "msg": ...}``
error bodies (-4 unregistered key with 401, -401 missing key, -3 unknown dataset path, -2 bad
parameter, -10 quota). Script 5xx, a code inside a 200 body, a slow answer or a malformed body with
:meth:`FakeOdcloud.script`; every request is recorded.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.scripted_server import ScriptedServer

DATASET = "/api/15106385/v1/uddi:4977d714-dca6-4bda-a10f-9bed30e2ce9c"
VALID_KEY = "keco-test-key+/="

POINTS: list[dict[str, Any]] = [
    {"순번": 1, "상호명": "민팃ATM 이마트 역삼점", "수거종류": "폐휴대폰", "수거방법": "수거함 설치",
     "수거장소(주소)": "서울특별시 강남구 역삼로 310", "장소구분": "민팃ATM", "수거비용": "무상"},
    {"순번": 2, "상호명": "역삼1동 행정복지센터", "수거종류": "폐휴대폰, 중소형가전", "수거방법": "수거함 설치",
     "수거장소(주소)": "서울특별시 강남구 역삼로 7길 16", "장소구분": "행정복지센터", "수거비용": "무상"},
    {"순번": 3, "상호명": "삼성디지털프라자 대치점", "수거종류": "중소형가전", "수거방법": "매장 방문",
     "수거장소(주소)": "서울특별시 강남구 삼성로 212", "장소구분": "가전매장", "수거비용": "무상"},
    {"순번": 4, "상호명": "대치1동 행정복지센터", "수거종류": "폐휴대폰", "수거방법": "수거함 설치",
     "수거장소(주소)": "서울특별시 강남구 남부순환로 2936", "장소구분": "행정복지센터", "수거비용": "무상"},
    {"순번": 5, "상호명": "중구청", "수거종류": "폐휴대폰, 중소형가전", "수거방법": "수거함 설치",
     "수거장소(주소)": "서울특별시 중구 창경궁로 17", "장소구분": "공공기관", "수거비용": "무상"},
    {"순번": 6, "상호명": "부산 중구청", "수거종류": "폐휴대폰", "수거방법": "수거함 설치",
     "수거장소(주소)": "부산광역시 중구 중구로 120", "장소구분": "공공기관", "수거비용": "무상"},
    {"순번": 7, "상호명": "매탄1동 행정복지센터", "수거종류": "폐휴대폰, 중소형가전", "수거방법": "수거함 설치",
     "수거장소(주소)": "경기도 수원시 영통구 매탄로 39", "장소구분": "행정복지센터", "수거비용": "무상"},
]  # fmt: skip

ERRORS = {
    "unregistered_key": (401, -4, "등록되지 않은 인증키 입니다."),
    "missing_key": (401, -401, "유효하지 않은 인증키 입니다."),
    "unregistered_service": (400, -3, "등록되지 않은 서비스 입니다."),
    "bad_parameter": (400, -2, "요청하신 파라미터가 적합하지 않습니다."),
    "quota": (400, -10, "트래픽 허용 횟수를 초과하였습니다."),
    "internal_400": (400, -1, "시스템 내부 오류가 발생하였습니다."),
    "server_error": (500, -1, "시스템 내부 오류가 발생하였습니다."),
    "code_in_200": (200, -4, "등록되지 않은 인증키 입니다."),
    "internal_in_200": (200, -1, "시스템 내부 오류가 발생하였습니다."),
}


class _Handler(BaseHTTPRequestHandler):
    server: FakeOdcloud

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.record(path, params, dict(self.headers))
        mode = self.server.next_mode()
        if mode == "slow":
            time.sleep(self.server.slow_s)
        auth = self.headers.get("Authorization", "")
        key = auth.removeprefix("Infuser ").strip() if auth.startswith("Infuser ") else params.get("serviceKey", "")
        if not key:
            self._error("missing_key")
        elif key != VALID_KEY:
            self._error("unregistered_key")
        elif path != DATASET:
            self._error("unregistered_service")
        elif mode in ERRORS:
            self._error(mode)
        elif mode == "malformed":
            self._send(200, "text/html", "<html>Bad Gateway</html>")
        elif mode == "no_data_list":
            self._send(200, "application/json", json.dumps({"page": 1, "perPage": 10, "totalCount": 0}))
        else:
            self._data(params, mode)

    def _data(self, params: dict[str, str], mode: str) -> None:
        try:
            page, per_page = int(params.get("page", "1")), int(params.get("perPage", "10"))
        except ValueError:
            self._error("bad_parameter")
            return
        if page < 1 or not 1 <= per_page <= 1000:
            self._error("bad_parameter")
            return
        rows = list(self.server.points)
        for name, value in params.items():
            if name.startswith("cond[") and name.endswith("::LIKE]"):
                column = name[len("cond[") : -len("::LIKE]")]
                rows = [row for row in rows if value in str(row.get(column, ""))]
        if mode == "empty":
            rows = []
        chunk = rows[(page - 1) * per_page : page * per_page]
        body = {
            "page": page,
            "perPage": per_page,
            "totalCount": len(self.server.points),
            "currentCount": len(chunk),
            "matchCount": len(rows),
            "data": chunk,
        }
        self._send(200, "application/json;charset=UTF-8", json.dumps(body, ensure_ascii=False))

    def _error(self, kind: str) -> None:
        status, code, msg = ERRORS[kind]
        self._send(status, "application/json;charset=UTF-8", json.dumps({"code": code, "msg": msg}, ensure_ascii=False))

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a scripted slow answer)


class FakeOdcloud(ScriptedServer):
    """Run with ``with FakeOdcloud() as server:``; ``server.base_url`` is ``ECO2_ODCLOUD_BASE_URL``."""

    def __init__(self, slow_s: float = 1.0) -> None:
        super().__init__(_Handler, slow_s)
        self.points = [dict(point) for point in POINTS]

    @property
    def base_url(self) -> str:
        """``https://api.odcloud.kr/api`` equivalent."""
        return f"http://127.0.0.1:{self.server_address[1]}/api"
