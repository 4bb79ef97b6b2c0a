"""The response forms of the data.go.kr API gateway (``apis.data.go.kr``), classified into eco2's error tree.

One request can come back in any of these shapes, whatever the HTTP status (key errors arrive as 200
as well as 401/403, so the body decides):

* success: ``{"response": {"header": {"resultCode": "00", "resultMsg": "NORMAL SERVICE"},
  "body": {"items": {"item": [...]}, "numOfRows": 10, "pageNo": 1, "totalCount": 3}}}``, where
  ``items`` may also be a bare list, ``{"item": {...}}`` (one row), a bare row, or ``""`` when empty;
* a service error in the same envelope: ``resultCode`` other than ``00`` (``03`` = no data);
* a gateway error, XML even when JSON was asked for: ``<OpenAPI_ServiceResponse><cmmMsgHeader>
  <errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg>
  <returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>`` (or the same
  structure as JSON);
* the newer gateway's parameter error without the ``response`` wrapper:
  ``{"resultCode": "10", "resultMsg": "...", "responseTime": "..."}``.

Codes (the portal's common table): transient server-side ones (01 application, 02 DB, 04 HTTP, 05
timeout, 99 unknown) are retryable; request, key and quota errors are permanent: a daily quota (22)
or a disabled key (21) does not come back within a task's retry window, and retrying only burns quota.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from eco2.errors import PermanentError, RetryableError

OK_CODES = frozenset({"00", "0", "000", "0000"})
NO_DATA = "03"
CODE_NAMES = {
    "01": "APPLICATION_ERROR",
    "02": "DB_ERROR",
    "03": "NODATA_ERROR",
    "04": "HTTP_ERROR",
    "05": "SERVICETIMEOUT_ERROR",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "11": "NO_MANDATORY_REQUEST_PARAMETERS_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "21": "TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "33": "UNSIGNED_CALL_ERROR",
    "99": "UNKNOWN_ERROR",
}
RETRYABLE_CODES = frozenset({"01", "02", "04", "05", "99"})

_XML_CODE = re.compile(r"<(returnReasonCode|resultCode)>\s*([^<\s]+)\s*</\1>")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows from the ``response.body`` envelope."""

    items: tuple[Mapping[str, Any], ...]
    total_count: int


def fail(upstream: str, code: str) -> NoReturn:
    """Raise the error class of a portal result ``code`` (``00`` and ``03`` never get here)."""
    code = code.strip().zfill(2) if code.strip().isdigit() else code.strip()
    name = CODE_NAMES.get(code, "unknown result code")
    message = f"{upstream}: {name} ({code})"
    if code in RETRYABLE_CODES:
        raise RetryableError(message)
    raise PermanentError(message)


def parse(upstream: str, text: str) -> Page:
    """Classify a response body; return its rows or raise ``RetryableError``/``PermanentError``."""
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        match = _XML_CODE.search(body)
        if match is None:
            raise PermanentError(f"{upstream}: malformed response (unrecognised XML)")
        if match.group(2) in OK_CODES:
            raise PermanentError(f"{upstream}: malformed response (XML where JSON was requested)")
        if match.group(2) == NO_DATA:
            return Page((), 0)
        fail(upstream, match.group(2))
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PermanentError(f"{upstream}: malformed response (not JSON)") from exc
    return _from_json(upstream, data)


def _from_json(upstream: str, data: Any) -> Page:
    if not isinstance(data, dict):
        raise PermanentError(f"{upstream}: malformed response (not an object)")
    gateway = data.get("OpenAPI_ServiceResponse")
    if isinstance(gateway, dict):
        header = gateway.get("cmmMsgHeader") or {}
        fail(upstream, str(header.get("returnReasonCode", "99")) if isinstance(header, dict) else "99")
    response = data.get("response")
    if not isinstance(response, dict):
        if "resultCode" in data:
            code = str(data["resultCode"])
            if code in OK_CODES:
                raise PermanentError(f"{upstream}: malformed response (no body)")
            if code == NO_DATA:
                return Page((), 0)
            fail(upstream, code)
        raise PermanentError(f"{upstream}: malformed response (no 'response' envelope)")
    header = response.get("header")
    code = str(header.get("resultCode", "")) if isinstance(header, dict) else ""
    if code == NO_DATA:
        return Page((), 0)
    if code not in OK_CODES:
        fail(upstream, code or "99")
    body = response.get("body")
    if not isinstance(body, dict):
        raise PermanentError(f"{upstream}: malformed response (no body)")
    items = _items(upstream, body.get("items"))
    try:
        total = int(body.get("totalCount", len(items)) or 0)
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"{upstream}: malformed response (totalCount)") from exc
    return Page(items, total)


def _items(upstream: str, raw: Any) -> tuple[Mapping[str, Any], ...]:
    """``items`` in any of its shapes: list, ``{"item": list | row}``, a bare row, or empty."""
    if raw in (None, "", []):
        return ()
    if isinstance(raw, dict) and "item" in raw:
        raw = raw["item"]
        if raw in (None, "", []):
            return ()
    rows = [raw] if isinstance(raw, dict) else raw
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PermanentError(f"{upstream}: malformed response (items)")
    return tuple(rows)
