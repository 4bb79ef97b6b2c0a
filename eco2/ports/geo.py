"""Port for geocoding: an address (Korean, as written in public datasets) to coordinates."""

from __future__ import annotations

from typing import Protocol

from eco2.domain.request import GeoPoint


class GeocoderPort(Protocol):
    """Turns addresses into coordinates (e.g. Kakao Local's address search)."""

    def geocode(self, address: str) -> GeoPoint | None:
        """The coordinates of ``address``, or ``None`` when it cannot be found.

        Raises ``RetryableError``/``PermanentError``/``NotConfiguredError`` like any upstream.
        """
        ...
