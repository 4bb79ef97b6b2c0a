"""Who may call the gateway and how often: API keys compared in constant time, a token bucket per caller."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Sequence


class ApiKeys:
    """The configured keys; none configured means the gateway is open (a private network, the demo)."""

    def __init__(self, keys: Sequence[str]) -> None:
        # Compared as digests: equal length, so compare_digest's time says nothing about a key's length.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    @property
    def required(self) -> bool:
        """Whether a request must carry a key."""
        return bool(self._digests)

    def caller(self, presented: str | None) -> str | None:
        """An opaque id of the caller whose key this is (never the key), or ``None`` if it matches none.

        Every configured key is compared, whichever matches, so the time taken does not say which did.
        """
        if presented is None:
            return None
        digest = hashlib.sha256(presented.encode(errors="replace")).digest()
        found: str | None = None
        for n, known in enumerate(self._digests):
            if hmac.compare_digest(digest, known) and found is None:
                found = f"key-{n}"
        return found


class RateLimiter:
    """A token bucket per caller: ``per_minute`` requests a minute, bursts up to as many.

    In process: each gateway replica counts its own callers (behind a load balancer the limit is per
    replica). The least recently seen callers are forgotten beyond ``max_callers``.
    """

    def __init__(self, per_minute: float, max_callers: int = 100_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = per_minute
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_callers

    def take(self, caller: str, now: float | None = None) -> float:
        """Spend one token of ``caller``: 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, seen = self._buckets.pop(caller, (self._burst, now))
        tokens = min(self._burst, tokens + (now - seen) * self._rate)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[caller] = (tokens, now)
            wait = math.ceil((1 - tokens) / self._rate * 10) / 10
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait
