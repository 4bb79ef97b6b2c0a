"""SSRF-safe download of user-supplied image URLs (see ``fetcher`` for the policy, step by step)."""

from __future__ import annotations

from eco2.adapters.safe_fetch._address import is_allowed, system_resolver
from eco2.adapters.safe_fetch._errors import ImageRefusedError, ImageUnavailableError
from eco2.adapters.safe_fetch._sniff import ALLOWED_MEDIA_TYPES, sniff
from eco2.adapters.safe_fetch.fetcher import (
    DEFAULT_TIMEOUT_S,
    MAX_IMAGE_BYTES,
    MAX_REDIRECTS,
    FetchedImage,
    SafeImageFetcher,
)

__all__ = [
    "ALLOWED_MEDIA_TYPES",
    "DEFAULT_TIMEOUT_S",
    "MAX_IMAGE_BYTES",
    "MAX_REDIRECTS",
    "FetchedImage",
    "ImageRefusedError",
    "ImageUnavailableError",
    "SafeImageFetcher",
    "is_allowed",
    "sniff",
    "system_resolver",
]
