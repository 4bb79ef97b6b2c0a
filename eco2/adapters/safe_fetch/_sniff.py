"""Image types the fetcher accepts, recognised by their magic bytes rather than by the server's word."""

from __future__ import annotations

ALLOWED_MEDIA_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})

_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}


def declared_type(content_type: str | None) -> str:
    """The bare, lower-case media type of a ``Content-Type`` header (``""`` when absent)."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(bare, bare)


def sniff(head: bytes) -> str | None:
    """The media type the first bytes prove, or ``None`` when they are not jpeg/png/webp/gif."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
