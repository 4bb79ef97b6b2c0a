"""Downloads a user-supplied image URL without letting it reach internal services (SSRF).

eco2 fetches the picture itself instead of handing the URL to the vision model, so it can refuse what a
user should not make the worker (or the model provider) fetch and bound what it accepts. Each hop:

1. only ``http``/``https``, no credentials in the URL;
2. resolve the host once and refuse if any address is private, loopback, link-local, multicast, reserved
   or unspecified (IPv4, IPv6 and IPv6 forms embedding IPv4), unless the constructor's allow-list says so;
3. connect to the checked address itself (no second resolution, so no DNS rebinding);
4. a redirect is a new hop: its target goes through 1-3 again, at most ``max_redirects`` times;
5. the answer must be 200 with an image content type, a ``Content-Length`` (if any) within the cap, at
   most ``max_bytes`` of body read within the overall ``timeout_s``, and magic bytes of jpeg/png/webp/gif.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from eco2.adapters.safe_fetch._address import (
    IPNetwork,
    Resolver,
    canonical,
    is_allowed,
    parse_networks,
    system_resolver,
)
from eco2.adapters.safe_fetch._connection import PinnedConnection
from eco2.adapters.safe_fetch._errors import ImageRefusedError, ImageUnavailableError
from eco2.adapters.safe_fetch._sniff import ALLOWED_MEDIA_TYPES, declared_type, sniff

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""Default size cap: photos from phones fit; the vision model gains nothing from more."""
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 5.0
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = ", ".join(sorted(ALLOWED_MEDIA_TYPES))

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FetchedImage:
    """The downloaded bytes and the media type their magic bytes prove."""

    data: bytes = field(repr=False)
    media_type: str

    @property
    def size(self) -> int:
        """Bytes downloaded."""
        return len(self.data)

    def data_url(self) -> str:
        """A ``data:`` URL, the form the vision model receives instead of the user's URL."""
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


class SafeImageFetcher:
    """Fetches one image URL under the policy above; thread-safe (no shared mutable state)."""

    def __init__(
        self,
        *,
        allow_networks: Iterable[str | IPNetwork] = (),
        resolver: Resolver = system_resolver,
        max_bytes: int = MAX_IMAGE_BYTES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_redirects: int = MAX_REDIRECTS,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "eco2-image-fetch/1.0",
    ) -> None:
        """``allow_networks`` exempts networks from the address policy: none in production."""
        self._allow: tuple[IPNetwork, ...] = parse_networks(allow_networks)
        self._resolve = resolver
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._ssl = ssl_context or ssl.create_default_context()
        self._headers = {"User-Agent": user_agent, "Accept": _ACCEPT}

    def fetch(self, url: str) -> FetchedImage:
        """Download ``url``; ``ImageRefusedError`` (permanent) or ``ImageUnavailableError`` (retryable)."""
        deadline = time.monotonic() + self._timeout_s
        current = url
        for _hop in range(self._max_redirects + 1):
            target = _parse(current)
            address = self._checked_address(target)
            conn = PinnedConnection(
                target.host,
                target.port,
                address,
                _remaining(deadline),
                self._ssl if target.scheme == "https" else None,
            )
            response: http.client.HTTPResponse | None = None
            try:
                response = _guard(_request, conn, target.path, self._headers)
                if response.status in _REDIRECTS:
                    location = response.getheader("Location")
                    if not location:
                        raise ImageRefusedError("redirect", "no Location header")
                    current = urljoin(current, location.strip())
                    continue
                _check_status(response.status)
                return self._read_image(conn, response, deadline)
            finally:
                if response is not None:
                    response.close()  # http.client hands the socket to a closing response; free it now
                conn.close()
        raise ImageRefusedError("too_many_redirects", f"more than {self._max_redirects}")

    def _checked_address(self, target: _Target) -> str:
        """The one address to connect to, after every address of the host passed the policy."""
        try:
            literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            try:
                raw = self._resolve(target.host, target.port)
                candidates = [ipaddress.ip_address(a) for a in raw]
            except (OSError, UnicodeError, ValueError) as exc:
                raise ImageRefusedError("dns", "host does not resolve") from exc
        if not candidates:
            raise ImageRefusedError("dns", "host does not resolve")
        # One bad address refuses the host: a name mixing public and private answers is an attack.
        if not all(is_allowed(a, self._allow) for a in candidates):
            raise ImageRefusedError("blocked_address")
        return str(canonical(candidates[0]))

    def _read_image(self, conn: PinnedConnection, response: http.client.HTTPResponse, deadline: float) -> FetchedImage:
        if declared_type(response.getheader("Content-Type")) not in ALLOWED_MEDIA_TYPES:
            raise ImageRefusedError("content_type")
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self._max_bytes:
            raise ImageRefusedError("too_large", f"over {self._max_bytes} bytes")
        body = bytearray()
        while True:
            left = _remaining(deadline)
            if conn.pinned_socket is not None:
                conn.pinned_socket.settimeout(left)
            # read1: at most one recv per call, so a server dripping bytes cannot outlive the deadline.
            chunk = _guard(response.read1, min(_CHUNK, self._max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
            if len(body) > self._max_bytes:
                raise ImageRefusedError("too_large", f"over {self._max_bytes} bytes")
        media_type = sniff(bytes(body[:16]))
        if media_type is None:
            raise ImageRefusedError("not_image", "magic bytes are not jpeg/png/webp/gif")
        return FetchedImage(bytes(body), media_type)


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ImageRefusedError("bad_url") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ImageRefusedError("scheme", "only http and https")
    if parts.username is not None or parts.password is not None:
        raise ImageRefusedError("credentials_in_url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ImageRefusedError("bad_url", "no host")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _request(conn: PinnedConnection, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn.request("GET", path, headers=headers)
    return conn.getresponse()


def _check_status(status: int) -> None:
    if status == 429 or status >= 500:
        raise ImageUnavailableError("http_status", f"HTTP {status}")
    if status != 200:
        raise ImageRefusedError("http_status", f"HTTP {status}")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ImageUnavailableError("timeout")
    return left


def _guard(call: Callable[..., T], *args: Any) -> T:
    """Run one network step, translating socket/TLS/HTTP failures into the fetcher's errors."""
    try:
        return call(*args)
    except TimeoutError as exc:
        raise ImageUnavailableError("timeout") from exc
    except ssl.SSLCertVerificationError as exc:
        raise ImageRefusedError("tls", "certificate does not verify") from exc
    except http.client.InvalidURL as exc:
        raise ImageRefusedError("bad_url") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ImageUnavailableError("connection", type(exc).__name__) from exc
