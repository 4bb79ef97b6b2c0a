"""A JSON-over-HTTP upstream with timeouts, a circuit breaker and eco2's error tree.

Every REST adapter talks through :class:`HttpUpstream`, so each one classifies failures the same way:
timeouts, connection errors, 429 and 5xx are :class:`RetryableError` (the subagent task retries them with
backoff); other 4xx and unparsable bodies are :class:`PermanentError`. Secrets travel in headers or
parameters given per call and never appear in error messages (which name the upstream and the status).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from eco2.adapters.resilience.breakers import Breakers
from eco2.errors import PermanentError, RetryableError, UpstreamError


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
    ) -> requests.Response:
        """GET ``path``; the response is returned only for 2xx (errors are raised, classified)."""
        return self._breakers.call(self.name, self._get, path, params, headers)

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
    ) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        failure: UpstreamError | None = None
        try:
            response = self._session.get(url, params=params, headers=dict(headers or {}), timeout=self.timeout_s)
        except requests.Timeout:
            failure = RetryableError(f"{self.name}: timed out after {self.timeout_s:g}s")
        except requests.ConnectionError:
            failure = RetryableError(f"{self.name}: connection failed")
        except requests.RequestException as exc:
            failure = PermanentError(f"{self.name}: request failed ({type(exc).__name__})")
        # Raised outside the except blocks: requests' exceptions quote the full URL, whose query may hold
        # an API key (data.go.kr's serviceKey), and even a suppressed ``__context__`` keeps a reference to
        # them that error reporters walk. Every adapter gets this here, not each on its own.
        if failure is not None:
            raise failure
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableError(f"{self.name}: HTTP {status}")
        if status >= 400:
            raise PermanentError(f"{self.name}: HTTP {status}")
        return response
