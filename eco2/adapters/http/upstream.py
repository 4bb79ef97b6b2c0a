"""A JSON-over-HTTP upstream with timeouts, a circuit breaker and eco2's error tree.

Every REST adapter talks through :class:`HttpUpstream`, so each one classifies failures the same way:
timeouts, connection errors, 429 and 5xx are :class:`RetryableError` (the subagent task retries them with
backoff); other 4xx and unparsable bodies are :class:`PermanentError`. Secrets travel in headers or
parameters given per call and never appear in error messages (which name the upstream and the status).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import PermanentError, RetryableError


class HttpUpstream:
    """One upstream service (base URL + breaker name)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout_s: float,
        breakers: Breakers,
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._breakers = breakers
        self._session = session or requests.Session()

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[requests.Response], None] | None = None,
    ) -> requests.Response:
        """GET ``path``; the response is returned only for 2xx (errors are raised, classified).

        ``check`` runs inside the breaker: an API that reports "try later" in a 200 body (data.go.kr's
        result codes) raises ``RetryableError`` there, so those failures count towards opening it.
        """
        return self._breakers.call(self.name, self._get, path, params, headers, check)

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """GET ``path`` and decode JSON (a body that is not JSON is a permanent, malformed-response error)."""
        response = self.get(path, params, headers)
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise PermanentError(f"{self.name}: malformed response (not JSON)") from exc

    def _get(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        check: Callable[[requests.Response], None] | None = None,
    ) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        try:
            response = self._session.get(url, params=params, headers=dict(headers or {}), timeout=self.timeout_s)
        # ``from None``: requests' exceptions quote the full URL, whose query may hold an API key, and a
        # chained exception ends up in logged tracebacks.
        except requests.Timeout:
            raise RetryableError(f"{self.name}: timed out after {self.timeout_s:g}s") from None
        except requests.ConnectionError:
            raise RetryableError(f"{self.name}: connection failed") from None
        except requests.RequestException as exc:
            raise PermanentError(f"{self.name}: request failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableError(f"{self.name}: HTTP {status}")
        if status >= 400:
            raise PermanentError(f"{self.name}: HTTP {status}")
        if check is not None:
            check(response)
        return response
