"""Token buckets in Redis, so every gateway process draws from one budget per caller.

The whole read-refill-draw-write step runs as one Lua script, which Redis executes
atomically: two processes drawing at once can never both spend the last token. The
script reads the clock from Redis (``TIME``), not from the processes, so their clocks
need not agree. A bucket key expires once it would be full again.

If Redis stops answering while the gateway runs, requests are admitted (fail open) and
the failure is logged: a rate limiter must not turn a Redis outage into an API outage.
Startup, by contrast, fails when Redis is unreachable, so a wrong URL is caught at once.
"""

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.buckets import Decision

logger = logging.getLogger("session_gateway.ratelimit")

TAKE = """
local burst = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local cost = math.min(tonumber(ARGV[3]), burst)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * per_second)
local allowed = 0
if tokens >= cost or ARGV[4] == '1' then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_second * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    """Token buckets shared through Redis by every process using the same URL and prefix."""

    def __init__(self, url: str, burst: int, per_second: float, prefix: str) -> None:
        self.burst = burst
        self.per_second = per_second
        self.prefix = prefix
        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self.redis.register_script(TAKE)
        self._last_warning = 0.0

    async def check(self) -> None:
        """Fail loudly at startup when Redis cannot be reached."""
        await self.redis.ping()

    async def take(self, key: str, cost: float, *, owed: bool = False) -> Decision:
        """Draw ``cost`` tokens from ``key``'s bucket if it holds that many (or ``owed``)."""
        try:
            allowed, tokens = await self._take(
                keys=[self.prefix + key],
                args=[self.burst, self.per_second, cost, "1" if owed else "0"],
            )
        except (RedisError, OSError) as error:
            if time.monotonic() - self._last_warning > 10:  # one line per 10 s, not per request
                self._last_warning = time.monotonic()
                logger.error("rate limiting is off while Redis fails: %s", error)
            return Decision(True, self.burst, self.per_second, float(self.burst))
        return Decision(bool(allowed), self.burst, self.per_second, float(tokens))

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
