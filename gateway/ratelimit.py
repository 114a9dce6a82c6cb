"""Rate limiting: one token bucket per principal (per client IP without a valid token).

REST and GraphQL draw from the same bucket. A REST request costs 1; a GraphQL request
costs 1 on arrival and then the rest of its computed query cost before it executes, and
after it has run, whatever it returned beyond that estimate (the actual cost; a
session's events may outnumber their estimate). A
request that finds too few tokens is refused with 429 and ``Retry-After`` and spends
nothing. Every answer to a charged request carries ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` and ``RateLimit-Policy``
(draft-ietf-httpapi-ratelimit-headers).
"""

import math
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.buckets import Buckets, MemoryBuckets
from gateway.config import Settings
from gateway.redis_buckets import RedisBuckets
from gateway.state import GatewayState
from resolvers.errors import RateLimited
from resolvers.scope import Principal

DECISION_KEY = "rate_limit"


def bucket_key(connection: HTTPConnection, principal: Principal | None) -> str:
    """Whose bucket a request draws from: the user, the token, or the client address."""
    if principal is None:
        client = connection.scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"
    return principal.owner


async def charge(connection: HTTPConnection, cost: float, *, owed: bool = False) -> None:
    """Draw ``cost`` from the caller's bucket; raises ``RateLimited`` when it holds too little.

    ``owed`` is for work already done (a GraphQL response that returned more than its
    estimate): it is drawn whatever the bucket holds, which may leave it in debt.
    """
    buckets = GatewayState.of(connection).buckets
    if buckets is None or cost <= 0:
        return
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    decision = await buckets.take(bucket_key(connection, state.get("principal")), cost, owed=owed)
    state[DECISION_KEY] = (decision, cost)
    if not decision.allowed:
        raise RateLimited(
            f"rate limit exceeded: this request costs {math.ceil(cost)} and "
            f"{math.floor(decision.remaining)} of {decision.burst} are left; "
            f"retry in {decision.retry_after(cost)} s",
            retry_after=decision.retry_after(cost),
        )


class RateLimitHeaders:
    """Adds the RateLimit-* headers, and Retry-After on a refusal, to charged responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            charged = scope.get("state", {}).get(DECISION_KEY)
            if message["type"] == "http.response.start" and charged:
                decision, cost = charged
                headers = MutableHeaders(scope=message)
                for name, value in decision.headers().items():
                    headers[name] = value
                if not decision.allowed:
                    headers["Retry-After"] = str(decision.retry_after(cost))
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def open_buckets(settings: Settings) -> Buckets | None:
    """The bucket store the settings ask for: none, in memory, or in Redis (checked now)."""
    if not settings.rate_limit_burst:
        return None
    if not settings.redis_url:
        return MemoryBuckets(settings.rate_limit_burst, settings.rate_limit_per_second)
    buckets = RedisBuckets(
        settings.redis_url,
        settings.rate_limit_burst,
        settings.rate_limit_per_second,
        settings.redis_key_prefix,
    )
    try:
        await buckets.check()
    except Exception as error:
        await buckets.close()
        raise RuntimeError(f"Redis at REDIS_URL is not reachable: {error}") from error
    return buckets
