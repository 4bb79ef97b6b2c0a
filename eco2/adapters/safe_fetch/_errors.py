"""The fetcher's failures, as members of eco2's error tree.

Every refusal carries a ``reason`` from a small closed set (usable as a metric label or log field);
messages never contain the URL, which may be a pre-signed link that works as a credential.
"""

from __future__ import annotations

from typing import Literal

from eco2.errors import PermanentError, RetryableError

RefusalReason = Literal[
    "bad_url",
    "scheme",
    "credentials_in_url",
    "dns",
    "blocked_address",
    "redirect",
    "too_many_redirects",
    "http_status",
    "too_large",
    "content_type",
    "not_image",
    "tls",
]


class ImageRefusedError(PermanentError):
    """The image was refused by policy or by what the server sent; retrying cannot help."""

    def __init__(self, reason: RefusalReason, detail: str = "") -> None:
        super().__init__(f"image fetch refused: {reason}" + (f" ({detail})" if detail else ""))
        self.reason: RefusalReason = reason


class ImageUnavailableError(RetryableError):
    """The image host timed out, dropped the connection or answered 429/5xx: worth one more try."""

    def __init__(self, reason: Literal["timeout", "connection", "http_status"], detail: str = "") -> None:
        super().__init__(f"image fetch failed: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason
