"""A local KMA short-term forecast service (``VilageFcstInfoService_2.0``) behind a data.go.kr-like gateway.

It speaks the real shapes: ``GET .../getUltraSrtNcst`` and ``.../getVilageFcst`` with ``serviceKey, pageNo,
numOfRows, dataType, base_date, base_time, nx, ny``; JSON ``{"response": {"header": {...}, "body": {"items":
{"item": [...]}, "pageNo", "numOfRows", "totalCount"}}}`` with ``obsrValue`` or ``fcstDate/fcstTime/
fcstValue`` rows; the header-only JSON of service errors (``03`` NODATA, ``10`` ...); and the gateway's XML
``<OpenAPI_ServiceResponse>`` for key problems, whatever ``dataType`` asked.

Like the gateway it checks the key after URL-decoding the query (a key encoded twice is "not registered"),
refuses base times outside each product's schedule, and answers NODATA for issues listed in
``unpublished``. Tests script other behaviour with :meth:`FakeKma.script` (gateway and service error codes,
HTTP errors, delays, malformed bodies); every request is recorded with its raw query string.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eco2.adapters.datagokr import RESULT_CODES
from eco2.subagents.weather.kma.base_times import KST

PREFIX = "/1360000/VilageFcstInfoService_2.0"
KEY = "Ab3+Kd9/xYz0Lm7Qw=="
"""The registered key as the portal shows it decoded (``+``, ``/`` and ``=`` are what trips clients up)."""
ENCODED_KEY = "Ab3%2BKd9%2FxYz0Lm7Qw%3D%3D"
"""The same key as the portal shows it URL-encoded."""
EXPIRED_KEY = "Expired+Key=="
NCST_TIMES = {f"{h:02d}00" for h in range(24)}
FCST_TIMES = {"0200", "0500", "0800", "1100", "1400", "1700", "2000", "2300"}
NCST_ORDER = ("PTY", "REH", "RN1", "T1H", "UUU", "VEC", "VVV", "WSD")
FCST_ORDER = ("TMP", "UUU", "VVV", "VEC", "WSD", "SKY", "PTY", "POP", "WAV", "PCP", "REH", "SNO")
DRY_HOUR = {
    "TMP": "20", "UUU": "0.8", "VVV": "-1.1", "VEC": "215", "WSD": "1.4", "SKY": "1", "PTY": "0",
    "POP": "10", "WAV": "0", "PCP": "강수없음", "REH": "60", "SNO": "적설없음",
}  # fmt: skip
CALM_OBSERVATION = {
    "T1H": "21.3", "RN1": "0", "UUU": "0.5", "VVV": "-1.2", "REH": "55", "PTY": "0", "VEC": "200", "WSD": "1.3",
}  # fmt: skip


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``body=None`` means "answer normally" (after ``delay_s``)."""

    status: int = 200
    body: bytes | None = None
    content_type: str = "application/json;charset=UTF-8"
    delay_s: float = 0.0
    operation: str | None = None
    """Only requests to this operation take the reply (``None``: any)."""


def gateway_error(code: str) -> Reply:
    """The gateway's XML envelope (key, quota and access errors), sent with HTTP 200."""
    name = RESULT_CODES[code][0]
    body = (
        "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
        f"<returnAuthMsg>{name}</returnAuthMsg><returnReasonCode>{code}</returnReasonCode>"
        "</cmmMsgHeader></OpenAPI_ServiceResponse>"
    )
    return Reply(body=body.encode(), content_type="text/xml;charset=UTF-8")


def service_error(code: str, operation: str | None = None) -> Reply:
    """The service's own header-only JSON error (``NO_DATA``, ``APPLICATION_ERROR``, ...)."""
    return Reply(body=_header_only(code), operation=operation)


def xml_service_error(code: str) -> Reply:
    """The service's error in its XML form (what comes back when the JSON path itself fails)."""
    header = f"<resultCode>{code}</resultCode><resultMsg>{RESULT_CODES[code][0]}</resultMsg>"
    body = f"<response><header>{header}</header></response>"
    return Reply(body=body.encode(), content_type="text/xml;charset=UTF-8")


def http_error(status: int, operation: str | None = None) -> Reply:
    """A bare HTTP error from the gateway."""
    return Reply(status=status, body=b"Unexpected errors", content_type="text/plain", operation=operation)


def slow(delay_s: float) -> Reply:
    """A normal answer that arrives late."""
    return Reply(delay_s=delay_s)


def malformed(body: bytes = b'{"response": {"header": {"resultCode": "00"') -> Reply:
    """A body that is not the documented envelope (truncated JSON by default)."""
    return Reply(body=body)


def _header_only(code: str) -> bytes:
    msg = "NO_DATA" if code == "03" else RESULT_CODES.get(code, ("UNKNOWN_ERROR", None))[0]
    return json.dumps({"response": {"header": {"resultCode": code, "resultMsg": msg}}}).encode()


@dataclass
class Recorded:
    """One request as the server saw it."""

    operation: str
    raw_query: str
    params: dict[str, str]


@dataclass
class _State:
    requests: list[Recorded] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    unpublished: set[tuple[str, str, str]] = field(default_factory=set)
    observation: dict[str, str] = field(default_factory=lambda: dict(CALM_OBSERVATION))
    hourly: Callable[[datetime], dict[str, str]] = lambda when: {}
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        operation = url.path.removeprefix(PREFIX).strip("/")
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with state.lock:
            state.requests.append(Recorded(operation, url.query, params))
            reply = next((r for r in state.script if r.operation in (None, operation)), None)
            if reply is not None:
                state.script.remove(reply)
        if reply is not None and reply.delay_s:
            time.sleep(reply.delay_s)
        if reply is not None and reply.body is not None:
            self._send(reply.status, reply.body, reply.content_type)
            return
        self._answer(operation, params)

    def _answer(self, operation: str, params: dict[str, str]) -> None:
        key = params.get("serviceKey", "")
        if key == EXPIRED_KEY:
            self._send_reply(gateway_error("31"))
            return
        if key != KEY:
            self._send_reply(gateway_error("30"))
            return
        if operation not in ("getUltraSrtNcst", "getVilageFcst"):
            self._send_reply(gateway_error("12"))
            return
        times = NCST_TIMES if operation == "getUltraSrtNcst" else FCST_TIMES
        required = ("pageNo", "numOfRows", "base_date", "base_time", "nx", "ny")
        if any(not params.get(name) for name in required):
            self._send(200, _header_only("11"), "application/json;charset=UTF-8")
            return
        if params["base_time"] not in times or params.get("dataType") != "JSON":
            self._send(200, _header_only("10"), "application/json;charset=UTF-8")
            return
        if (operation, params["base_date"], params["base_time"]) in self.server.state.unpublished:
            self._send(200, _header_only("03"), "application/json;charset=UTF-8")
            return
        rows = self._ncst(params) if operation == "getUltraSrtNcst" else self._fcst(params)
        page, size = int(params["pageNo"]), int(params["numOfRows"])
        body = {
            "response": {
                "header": {"resultCode": "00", "resultMsg": "NORMAL_SERVICE"},
                "body": {
                    "dataType": "JSON",
                    "items": {"item": rows[(page - 1) * size : page * size]},
                    "pageNo": page,
                    "numOfRows": size,
                    "totalCount": len(rows),
                },
            }
        }
        self._send(200, json.dumps(body, ensure_ascii=False).encode(), "application/json;charset=UTF-8")

    def _ncst(self, params: dict[str, str]) -> list[dict[str, Any]]:
        values = self.server.state.observation
        common = {"baseDate": params["base_date"], "baseTime": params["base_time"]}
        grid = {"nx": int(params["nx"]), "ny": int(params["ny"])}
        return [{**common, "category": c, **grid, "obsrValue": values[c]} for c in NCST_ORDER if c in values]

    def _fcst(self, params: dict[str, str]) -> list[dict[str, Any]]:
        base = datetime.strptime(params["base_date"] + params["base_time"], "%Y%m%d%H%M").replace(tzinfo=KST)
        last = base.replace(hour=23) + timedelta(days=3)
        rows: list[dict[str, Any]] = []
        when = base + timedelta(hours=1)
        while when <= last:
            values = {**DRY_HOUR, **self.server.state.hourly(when)}
            order = list(FCST_ORDER)
            if when.hour == 6:
                order.insert(0, "TMN")
                values.setdefault("TMN", "12.0")
            if when.hour == 15:
                order.insert(0, "TMX")
                values.setdefault("TMX", "24.0")
            for category in order:
                rows.append(
                    {
                        "baseDate": params["base_date"],
                        "baseTime": params["base_time"],
                        "category": category,
                        "fcstDate": when.strftime("%Y%m%d"),
                        "fcstTime": when.strftime("%H%M"),
                        "fcstValue": values[category],
                        "nx": int(params["nx"]),
                        "ny": int(params["ny"]),
                    }
                )
            when += timedelta(hours=1)
        return rows

    def _send_reply(self, reply: Reply) -> None:
        self._send(reply.status, reply.body or b"", reply.content_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a delayed reply must not hold up shutdown
    state: _State


class FakeKma:
    """The fake service on ``127.0.0.1:<free port>``; use as a context manager."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """What ``ECO2_KMA_BASE_URL`` would be."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far."""
        with self._server.state.lock:
            return list(self._server.state.requests)

    @property
    def observation(self) -> dict[str, str]:
        """Category -> ``obsrValue`` of every observation served (edit in place)."""
        return self._server.state.observation

    def forecast(self, hourly: Callable[[datetime], dict[str, str]]) -> None:
        """Override forecast values per hour (KST), on top of a dry, mild day."""
        self._server.state.hourly = hourly

    def unpublish(self, operation: str, base_date: str, base_time: str) -> None:
        """Make an issue answer NODATA, as an issue not yet published does."""
        self._server.state.unpublished.add((operation, base_date, base_time))

    def script(self, *replies: Reply) -> None:
        """Queue replies; each is used by the next matching request."""
        with self._server.state.lock:
            self._server.state.script.extend(replies)

    def __enter__(self) -> FakeKma:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
