"""Requests per client, limited: a token bucket per client address."""

from __future__ import annotations

import time
from collections import OrderedDict

__all__ = ["RateLimit"]


class RateLimit:
    """At most `burst` requests at once per client, refilled at `per_minute` a minute; the
    least recently seen clients are forgotten beyond `clients`."""

    def __init__(self, per_minute: float, burst: int, clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clients = clients
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, seen = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self.buckets) > self.clients:
            self.buckets.popitem(last=False)
        return allowed
