"""Token buckets: the Decision a draw yields, the Buckets protocol, and an in-memory store.

A bucket holds ``burst`` tokens and refills at ``per_second``. A draw that finds too few
tokens is refused and spends nothing. ``MemoryBuckets`` serve one process;
``gateway.redis_buckets.RedisBuckets`` share one budget between processes.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one draw from a bucket, with what the response headers report."""

    allowed: bool
    burst: int
    per_second: float
    remaining: float

    @property
    def reset_seconds(self) -> int:
        """Seconds until the bucket is full again."""
        return math.ceil(max(0.0, self.burst - self.remaining) / self.per_second)

    def retry_after(self, cost: float) -> int:
        """Seconds until the bucket holds ``cost`` tokens (at least 1)."""
        return max(1, math.ceil((min(cost, self.burst) - self.remaining) / self.per_second))

    def headers(self) -> dict[str, str]:
        """The RateLimit-* headers describing this decision."""
        return {
            "RateLimit-Limit": str(self.burst),
            "RateLimit-Remaining": str(math.floor(self.remaining)),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.burst};w={math.ceil(self.burst / self.per_second)}",
        }


class Buckets(Protocol):
    """A store of token buckets."""

    burst: int
    per_second: float

    async def take(self, key: str, cost: float, *, owed: bool = False) -> Decision:
        """Draw ``cost`` tokens from ``key``'s bucket if it holds that many.

        ``owed`` draws them whatever the bucket holds: the bucket may go into debt,
        which refills like any tokens (for what a request fetched beyond its estimate).
        """

    async def close(self) -> None:
        """Release connections."""


def refill(tokens: float, elapsed: float, burst: int, per_second: float) -> float:
    """The tokens in a bucket ``elapsed`` seconds after it held ``tokens``."""
    return min(float(burst), tokens + max(0.0, elapsed) * per_second)


class MemoryBuckets:
    """Token buckets in this process's memory: right for one process, not for several."""

    SWEEP_EVERY = 10_000

    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._takes = 0

    async def take(self, key: str, cost: float, *, owed: bool = False) -> Decision:
        """Draw ``cost`` tokens from ``key``'s bucket if it holds that many (or ``owed``)."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = refill(tokens, now - then, self.burst, self.per_second)
        # A draw larger than the whole bucket waits for a full bucket and empties it.
        cost = min(cost, self.burst)
        allowed = owed or tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        self._sweep(now)
        return Decision(allowed, self.burst, self.per_second, tokens)

    def _sweep(self, now: float) -> None:
        # Full buckets carry no information; dropping them bounds memory by active callers.
        self._takes += 1
        if self._takes % self.SWEEP_EVERY:
            return
        full_after = self.burst / self.per_second
        self._buckets = {
            key: value for key, value in self._buckets.items() if now - value[1] < full_after
        }

    async def close(self) -> None:
        """Nothing to release."""
