"""The response forms of the data.go.kr API gateway (``apis.data.go.kr``), classified into eco2's error tree.

Every service behind the portal (KMA weather, MOIS household waste) answers in these shapes, whatever
the HTTP status (key errors arrive as 200 as well as 401/403, so the body decides):

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

Each result code has exactly one outcome (``RESULT_CODES``), decided here once for every adapter:
transient server-side codes are retryable; request, key and quota errors are permanent (a daily quota or
a disabled key does not come back within a task's retry window, and retrying only burns quota). Messages
use the portal's names for the codes, never the server's text, which could echo the request (and its key).
XML is read with one anchored regular expression instead of an XML parser: only one leaf is needed, and no
entity or DTD processing can be triggered by a hostile body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eco2.errors import PermanentError, RetryableError


class Outcome(StrEnum):
    """What a result code means for the caller."""

    OK = "ok"
    EMPTY = "empty"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


RESULT_CODES: dict[str, tuple[str, Outcome]] = {
    "00": ("NORMAL_SERVICE", Outcome.OK),
    "01": ("APPLICATION_ERROR", Outcome.RETRYABLE),  # the provider's side failed; our parameters are valid
    "02": ("DB_ERROR", Outcome.RETRYABLE),
    "03": ("NODATA_ERROR", Outcome.EMPTY),  # e.g. a forecast issue not published yet
    "04": ("HTTP_ERROR", Outcome.RETRYABLE),  # the gateway could not reach the service
    "05": ("SERVICETIME_OUT", Outcome.RETRYABLE),
    "10": ("INVALID_REQUEST_PARAMETER_ERROR", Outcome.PERMANENT),
    "11": ("NO_MANDATORY_REQUEST_PARAMETERS_ERROR", Outcome.PERMANENT),
    "12": ("NO_OPENAPI_SERVICE_ERROR", Outcome.PERMANENT),
    "20": ("SERVICE_ACCESS_DENIED_ERROR", Outcome.PERMANENT),
    "21": ("TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR", Outcome.PERMANENT),  # lasts hours, not seconds
    "22": ("LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", Outcome.PERMANENT),  # the daily quota
    "30": ("SERVICE_KEY_IS_NOT_REGISTERED_ERROR", Outcome.PERMANENT),
    "31": ("DEADLINE_HAS_EXPIRED_ERROR", Outcome.PERMANENT),
    "32": ("UNREGISTERED_IP_ERROR", Outcome.PERMANENT),
    "33": ("UNSIGNED_CALL_ERROR", Outcome.PERMANENT),
    "99": ("UNKNOWN_ERROR", Outcome.RETRYABLE),
}
"""Result codes of the data.go.kr OpenAPI guide, with the outcome each one gets."""

_XML_CODE = re.compile(r"<(returnReasonCode|resultCode)>\s*([^<\s]+)\s*</\1>")


class PortalRetryableError(RetryableError):
    """A result code worth retrying (the provider's trouble)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class PortalPermanentError(PermanentError):
    """A result code no retry can fix (bad key, bad parameters, spent quota)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows from the ``response.body`` envelope."""

    items: tuple[Mapping[str, Any], ...]
    total_count: int


def normal_code(code: str) -> str:
    """``"3"``, ``"03"`` and ``"0003"`` are the same code (envelopes differ in padding)."""
    digits = code.strip()
    if not (digits.isascii() and digits.isdigit()):
        return digits
    return digits.lstrip("0").zfill(2)


def check_code(upstream: str, code: str) -> Outcome:
    """Raise the error of an error ``code``; return ``OK`` or ``EMPTY`` otherwise."""
    code = normal_code(code)
    name, outcome = RESULT_CODES.get(code, ("undocumented result code", Outcome.PERMANENT))
    message = f"{upstream}: result {code} {name}"
    if outcome is Outcome.RETRYABLE:
        raise PortalRetryableError(message, code)
    if outcome is Outcome.PERMANENT:
        raise PortalPermanentError(message, code)
    return outcome


def _bodiless(upstream: str, code: str, malformed: str = "no body") -> Page:
    """An envelope without rows: no data, an error (raised), or malformed when it claims success."""
    if check_code(upstream, code) is Outcome.EMPTY:
        return Page((), 0)
    raise PermanentError(f"{upstream}: malformed response ({malformed})")


def parse(upstream: str, text: str) -> Page:
    """Classify a response body; return its rows or raise ``RetryableError``/``PermanentError``."""
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        match = _XML_CODE.search(body)
        if match is None:
            raise PermanentError(f"{upstream}: malformed response (XML without a result code)")
        return _bodiless(upstream, match.group(2), "XML where JSON was requested")
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
        header = gateway.get("cmmMsgHeader")
        return _bodiless(upstream, str(header.get("returnReasonCode", "99")) if isinstance(header, dict) else "99")
    response = data.get("response")
    if not isinstance(response, dict):
        if "resultCode" not in data:
            raise PermanentError(f"{upstream}: malformed response (no 'response' envelope)")
        return _bodiless(upstream, str(data["resultCode"]))
    header = response.get("header")
    if not isinstance(header, dict) or "resultCode" not in header:
        raise PermanentError(f"{upstream}: malformed response (no result code)")
    if check_code(upstream, str(header["resultCode"])) is Outcome.EMPTY:
        return Page((), 0)
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
