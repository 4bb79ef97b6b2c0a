"""Turns a response of the KMA service (through the data.go.kr gateway) into items or a classified error.

Two envelopes arrive, whatever ``dataType`` asked for:

- the service's own, in the requested format: ``{"response": {"header": {"resultCode", "resultMsg"},
  "body": {"items": {"item": [...]}, "totalCount", ...}}}`` (or ``<response><header>...`` in XML);
- the gateway's, always XML, for key and quota problems: ``<OpenAPI_ServiceResponse><cmmMsgHeader>
  <errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg>
  <returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>``.

Each result code maps to exactly one outcome (``RESULT_CODES``): data, no data (an empty list), a
``RetryableError`` (the provider may recover) or a ``PermanentError`` (the request or the key is wrong, or
the daily quota is spent). Messages use our own names for the codes, never the server's text, which could
echo the request.
The XML envelopes are read with two anchored regular expressions instead of an XML parser: only one leaf
is needed, and no entity or DTD processing can be triggered by a hostile body.
"""

from __future__ import annotations

import json
import re
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
    "03": ("NODATA_ERROR", Outcome.EMPTY),  # e.g. an issue not published yet
    "04": ("HTTP_ERROR", Outcome.RETRYABLE),  # the gateway could not reach KMA
    "05": ("SERVICETIME_OUT", Outcome.RETRYABLE),
    "10": ("INVALID_REQUEST_PARAMETER_ERROR", Outcome.PERMANENT),
    "11": ("NO_MANDATORY_REQUEST_PARAMETERS_ERROR", Outcome.PERMANENT),
    "12": ("NO_OPENAPI_SERVICE_ERROR", Outcome.PERMANENT),
    "20": ("SERVICE_ACCESS_DENIED_ERROR", Outcome.PERMANENT),
    "21": ("TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR", Outcome.PERMANENT),  # lasts hours, not seconds
    # The daily quota does not come back within a task's retry window, and retries only spend more of it
    # (the same policy as every data.go.kr adapter: eco2/adapters/mois/_datagokr.py).
    "22": ("LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", Outcome.PERMANENT),
    "30": ("SERVICE_KEY_IS_NOT_REGISTERED_ERROR", Outcome.PERMANENT),
    "31": ("DEADLINE_HAS_EXPIRED_ERROR", Outcome.PERMANENT),
    "32": ("UNREGISTERED_IP_ERROR", Outcome.PERMANENT),
    "33": ("UNSIGNED_CALL_ERROR", Outcome.PERMANENT),
    "99": ("UNKNOWN_ERROR", Outcome.RETRYABLE),
}
"""Result codes of the data.go.kr OpenAPI guide, with the outcome each one gets here."""

_XML_CODE = re.compile(r"<(returnReasonCode|resultCode)>\s*(\d{1,4})\s*</\1>")


class KmaRetryableError(RetryableError):
    """A result code worth retrying (provider trouble)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class KmaPermanentError(PermanentError):
    """A result code no retry can fix (bad key, bad parameters)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Item:
    """One value of one category (``obsrValue`` for observations, ``fcstValue`` for forecasts)."""

    category: str
    value: str
    fcst_date: str = ""
    """YYYYMMDD of a forecast value (empty for observations)."""
    fcst_time: str = ""
    """HHMM of a forecast value (empty for observations)."""


def check_code(upstream: str, code: str) -> Outcome:
    """Raise for an error code; return ``OK`` or ``EMPTY`` otherwise."""
    code = _normal(code)
    name, result = RESULT_CODES.get(code, ("undocumented result code", Outcome.PERMANENT))
    message = f"{upstream}: result {code} {name}"
    if result is Outcome.RETRYABLE:
        raise KmaRetryableError(message, code)
    if result is Outcome.PERMANENT:
        raise KmaPermanentError(message, code)
    return result


def parse_items(upstream: str, body: bytes) -> list[Item]:
    """The items of one response page; ``[]`` for NODATA; classified errors for everything else."""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("<"):
        match = _XML_CODE.search(text)
        if match is None:
            raise PermanentError(f"{upstream}: malformed response (XML without a result code)")
        if check_code(upstream, match.group(2)) is Outcome.EMPTY:
            return []
        raise PermanentError(f"{upstream}: malformed response (XML although JSON was asked)")
    try:
        document = json.loads(text)
        header = document["response"]["header"]
        code = str(header["resultCode"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"{upstream}: malformed response (not the KMA JSON envelope)") from exc
    if check_code(upstream, code) is Outcome.EMPTY:
        return []
    return _items(upstream, document["response"].get("body"))


def _items(upstream: str, body: Any) -> list[Item]:
    if not isinstance(body, dict):
        raise PermanentError(f"{upstream}: malformed response (no body)")
    items = body.get("items")
    if items in (None, "", []):  # an empty page comes back as "items": "" in JSON
        return []
    raw = items.get("item") if isinstance(items, dict) else None
    if isinstance(raw, dict):  # a single row is sometimes an object, not a list
        raw = [raw]
    if not isinstance(raw, list):
        raise PermanentError(f"{upstream}: malformed response (items is not a list)")
    try:
        return [_item(row) for row in raw]
    except (KeyError, TypeError) as exc:
        raise PermanentError(f"{upstream}: malformed response (item without category or value)") from exc


def _item(row: dict[str, Any]) -> Item:
    if "obsrValue" in row:
        return Item(str(row["category"]), str(row["obsrValue"]))
    return Item(str(row["category"]), str(row["fcstValue"]), str(row["fcstDate"]), str(row["fcstTime"]))


def _normal(code: str) -> str:
    """``"3"``, ``"03"`` and ``"0003"`` are the same code (envelopes differ in padding)."""
    digits = code.strip()
    return digits[-2:].zfill(2) if digits.isdigit() else digits
