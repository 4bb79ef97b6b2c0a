"""Client of odcloud (``api.odcloud.kr``), the gateway that serves data.go.kr file datasets as JSON.

Every file dataset becomes ``GET /api/{dataset id}/v1/uddi:{uuid}?page=1&perPage=100&returnType=JSON``,
with ``cond[{column}::LIKE|EQ|LT|...]`` filters on its (often Korean) column names, and answers
``{"page", "perPage", "totalCount", "currentCount", "matchCount", "data": [...]}``. Authentication is
the portal key in ``Authorization: Infuser {key}`` (or a ``serviceKey`` parameter).

Error forms (the gateway's result codes, in a ``{"code": ..., "msg": ...}`` body):

====  ======================================  ==========================  =============
code  meaning                                 HTTP status                 class
====  ======================================  ==========================  =============
-1    시스템 내부 오류                          400 (500 from the backend)  see below
-2    요청 파라미터가 적합하지 않음             400                         permanent
-3    등록되지 않은 서비스 (wrong ``uddi``)     400                         permanent
-4    등록되지 않은 인증키 (not applied for)     401 (seen with 200 too)     permanent
-9    종료된 서비스                             400                         permanent
-10   트래픽 허용 횟수 초과 (daily quota)        400/429                     permanent
-401  유효하지 않은 인증키                       401                         permanent
-999  unknown                                  400/500                     retryable
====  ======================================  ==========================  =============

Statuses are classified by :class:`HttpUpstream` (5xx/429 retryable, other 4xx permanent) before the
body is read, so a ``-1`` sent with 400 ends up permanent; when a code arrives in a 2xx body it is
classified here (-1 and -999 retryable, the rest permanent). Quota errors are permanent on purpose:
a daily quota does not come back within a task's retry window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import unquote

from eco2.adapters.http.upstream import HttpUpstream
from eco2.config import Secret
from eco2.errors import PermanentError, RetryableError

MAX_PER_PAGE = 1000
"""odcloud's upper bound of ``perPage``."""

CODE_MESSAGES = {
    -1: "internal error",
    -2: "invalid parameter",
    -3: "unregistered service (dataset path)",
    -4: "unregistered key (apply for the dataset on data.go.kr)",
    -9: "terminated service",
    -10: "traffic quota exceeded",
    -401: "invalid key",
    -999: "unknown error",
}
RETRYABLE_CODES = frozenset({-1, -999})


@dataclass(frozen=True, slots=True)
class OdcloudPage:
    """One page of a dataset query."""

    rows: tuple[Mapping[str, Any], ...]
    total_count: int
    """Rows in the whole dataset."""
    match_count: int
    """Rows matching the ``cond`` filters."""


class OdcloudClient:
    """Queries odcloud datasets with the portal key in the ``Authorization`` header."""

    def __init__(self, upstream: HttpUpstream, api_key: Secret) -> None:
        self._upstream = upstream
        self._api_key = api_key

    @property
    def name(self) -> str:
        """The upstream's name (breaker and metric label)."""
        return self._upstream.name

    def query(
        self, dataset_path: str, filters: Mapping[str, str] | None = None, page: int = 1, per_page: int = 100
    ) -> OdcloudPage:
        """Rows of ``dataset_path`` (``{id}/v1/uddi:{uuid}``) matching ``filters`` (``{"col::LIKE": "x"}``)."""
        params: dict[str, Any] = {
            "page": max(1, page),
            "perPage": max(1, min(per_page, MAX_PER_PAGE)),
            "returnType": "JSON",
        }
        params.update({f"cond[{column}]": value for column, value in (filters or {}).items() if value})
        key = self._api_key.reveal()
        headers = {"Authorization": f"Infuser {unquote(key) if '%' in key else key}"}
        body = self._upstream.get_json(dataset_path, params=params, headers=headers)
        return self._page(body)

    def _page(self, body: Any) -> OdcloudPage:
        name = self._upstream.name
        if not isinstance(body, dict):
            raise PermanentError(f"{name}: malformed response (not an object)")
        if "code" in body and body.get("code") not in (0, "0", None):
            _fail(name, body.get("code"))
        rows = body.get("data")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise PermanentError(f"{name}: malformed response (no 'data' list)")
        try:
            total = int(body.get("totalCount", len(rows)) or 0)
            matched = int(body.get("matchCount", total) or 0)
        except (TypeError, ValueError) as exc:
            raise PermanentError(f"{name}: malformed response (counts)") from exc
        return OdcloudPage(tuple(rows), total, matched)


def _fail(upstream: str, raw: Any) -> NoReturn:
    try:
        code = int(raw)
    except (TypeError, ValueError):
        raise PermanentError(f"{upstream}: malformed response (code {raw!r})") from None
    message = f"{upstream}: {CODE_MESSAGES.get(code, 'error')} (code {code})"
    if code in RETRYABLE_CODES:
        raise RetryableError(message)
    raise PermanentError(message)
