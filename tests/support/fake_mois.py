"""A local stand-in for MOIS's household-waste API (``apis.data.go.kr/1741000/household_waste_info/info``).

It speaks the data.go.kr gateway's real shapes: the ``response.header/body`` JSON envelope with
``items.item`` as a list (or one object, or a bare list, scripted), ``cond[SGG_NM::LIKE]`` filtering,
and the error forms: the ``OpenAPI_ServiceResponse`` XML for an unregistered key (HTTP 200 by default,
as the old gateway sends it) or quota, the newer gateway's ``{"resultCode": "10", ...}`` parameter
error, service result codes inside the envelope, 5xx, a slow answer and a malformed body. Every
request is recorded. Script the next answers with :meth:`FakeMois.script`.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.scripted_server import ScriptedServer

PATH = "/1741000/household_waste_info/info"
VALID_KEY = "mois-test-key+/="

ROWS: list[dict[str, Any]] = [
    {
        "CTPV_NM": "서울특별시",
        "SGG_NM": "강남구",
        "MNG_ZONE_NM": "강남구 전역",
        "MNG_ZONE_TRGT_RGN_NM": "역삼동+삼성동+대치동",
        "EMSN_PLC_TYPE": "문전수거",
        "EMSN_PLC": "내 집 앞",
        "LF_WST_EMSN_DOW": "일+월+화+수+목+금",
        "LF_WST_EMSN_BGNG_TM": "1800",
        "LF_WST_EMSN_END_TM": "2400",
        "TMPRY_BULK_WASTE_EMSN_MTHD": "인터넷·주민센터 신고 후 스티커(접수번호) 부착 배출",
        "TMPRY_BULK_WASTE_EMSN_PLC": "건물 앞(공동주택은 단지 내 배출장)",
        "TMPRY_BULK_WASTE_EMSN_BGNG_TM": "",
        "TMPRY_BULK_WASTE_EMSN_END_TM": "",
        "UNCLLT_DAY": "토요일",
        "MNG_DEPT_NM": "청소행정과",
        "MNG_DEPT_TELNO": "02-3423-5940",
        "DAT_CRTR_YMD": "2025-06-30",
    },
    {
        "CTPV_NM": "서울특별시",
        "SGG_NM": "중구",
        "MNG_ZONE_NM": "중구",
        "TMPRY_BULK_WASTE_EMSN_MTHD": "빼기 앱 또는 전화 신고",
        "MNG_DEPT_NM": "청소행정과",
        "MNG_DEPT_TELNO": "02-3396-5453",
        "DAT_CRTR_YMD": "2025-03-31",
    },
    {
        "CTPV_NM": "부산광역시",
        "SGG_NM": "중구",
        "MNG_ZONE_NM": "중구",
        "TMPRY_BULK_WASTE_EMSN_MTHD": "인터넷 신고",
        "MNG_DEPT_NM": "자원순환과",
        "MNG_DEPT_TELNO": "051-600-4432",
        "DAT_CRTR_YMD": "2024-12-31",
    },
    {
        "CTPV_NM": "경기도",
        "SGG_NM": "수원시",
        "MNG_ZONE_NM": "영통구",
        "MNG_ZONE_TRGT_RGN_NM": "매탄동+원천동",
        "BULK_WST_EMSN_MTHD": "대형폐기물 인터넷 신고 후 필증 부착",
        "MNG_DEPT_NM": "청소자원과",
        "MNG_DEPT_TEL": "031-228-3249",
        "DAT_CRTR_YMD": "2025-01-01",
    },
]

GATEWAY_XML = (
    "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
    "<returnAuthMsg>{name}</returnAuthMsg><returnReasonCode>{code}</returnReasonCode>"
    "</cmmMsgHeader></OpenAPI_ServiceResponse>"
)


class _Handler(BaseHTTPRequestHandler):
    server: FakeMois

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.record(parts.path, params, dict(self.headers))
        mode = self.server.next_mode()
        if mode == "slow":
            time.sleep(self.server.slow_s)
        if parts.path != PATH:
            self._send(404, "text/html", "<html><body>404 Not Found</body></html>")
            return
        if params.get("serviceKey") != VALID_KEY:
            if mode == "auth_401":
                self._send(401, "text/xml", GATEWAY_XML.format(name="SERVICE_KEY_IS_NOT_REGISTERED_ERROR", code=30))
                return
            self._send(200, "text/xml", GATEWAY_XML.format(name="SERVICE_KEY_IS_NOT_REGISTERED_ERROR", code=30))
            return
        quota = GATEWAY_XML.format(name="LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", code=22)
        param_error = {"resultCode": "10", "resultMsg": "INVALID_REQUEST_PARAMETER_ERROR", "responseTime": "2026-11-25"}
        special = {
            "quota": (200, "text/xml", quota),
            "server_error": (500, "text/html", "<html><body>Internal Server Error</body></html>"),
            "unavailable": (503, "text/html", "<html><body>Service Unavailable</body></html>"),
            "malformed": (200, "application/json", '{"response": {"header": {"resultCode": "00"'),
            "gateway_param": (200, "application/json", json.dumps(param_error)),
            "service_error": (200, "application/json", json.dumps(_envelope("01", "APPLICATION_ERROR", None))),
            "no_data": (200, "application/json", json.dumps(_envelope("03", "NODATA_ERROR", None))),
        }
        if mode in special:
            self._send(*special[mode])
            return
        try:
            rows_per_page = int(params.get("numOfRows", "10"))
        except ValueError:
            rows_per_page = -1
        if not 1 <= rows_per_page <= 100:
            self._send(
                200,
                "application/json",
                json.dumps({"resultCode": "10", "resultMsg": "INVALID_REQUEST_PARAMETER_ERROR"}),
            )
            return
        if params.get("returnType", "xml").lower() != "json":
            self._send(200, "text/xml", "<response><header><resultCode>00</resultCode></header><body/></response>")
            return
        like = params.get("cond[SGG_NM::LIKE]", "")
        rows = [row for row in self.server.rows if like in row.get("SGG_NM", "")]
        if mode == "empty":
            rows = []
        self._send(
            200,
            "application/json;charset=UTF-8",
            json.dumps(_envelope("00", "NORMAL SERVICE", rows, mode), ensure_ascii=False),
        )

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


def _envelope(code: str, message: str, rows: list[dict[str, Any]] | None, mode: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {"header": {"resultCode": code, "resultMsg": message}}
    if rows is not None:
        items: Any = {"item": rows}
        if not rows:
            items = ""
        elif mode == "single" or (len(rows) == 1 and mode != "bare_list"):
            items = {"item": rows[0]}  # the gateway's XML-to-JSON conversion drops the list for one row
        elif mode == "bare_list":
            items = rows
        response["body"] = {"items": items, "numOfRows": 100, "pageNo": 1, "totalCount": len(rows)}
    return {"response": response}


class FakeMois(ScriptedServer):
    """Run with ``with FakeMois() as server:``; ``server.base_url`` is ``ECO2_MOIS_BASE_URL``."""

    def __init__(self, slow_s: float = 1.0) -> None:
        super().__init__(_Handler, slow_s)
        self.rows = [dict(row) for row in ROWS]

    @property
    def base_url(self) -> str:
        """The base URL the client is configured with (``/info`` is appended per call)."""
        return f"http://127.0.0.1:{self.server_address[1]}{PATH.rsplit('/', 1)[0]}"
