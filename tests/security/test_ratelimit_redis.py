"""Rate limiting through the real Redis on 127.0.0.1:6379: one budget for every process.

Redis being unreachable fails these tests; they are never skipped.
"""

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from redis.asyncio import Redis

from gateway.redis_buckets import RedisBuckets
from tests.conftest import auth
from tests.fixtures.dataset import USER_A
from tests.security.gateways import gateway, graphql_error

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REST = "/session/v2/sessions?limit=1"
THREE = {"query": "{ sessions(first: 3) { nodes { uuid } } }"}
SLOW = 0.001


@pytest.fixture
async def prefix():
    """A key prefix of this test's own, removed afterwards; fails if Redis is down."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as error:
        await client.aclose()
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL}: {error}. Start it (see README); "
            "the rate-limit tests never skip Redis.",
            pytrace=False,
        )
    name = f"sgw-test:{uuid.uuid4().hex}:"
    yield name
    keys = [key async for key in client.scan_iter(match=name + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_two_gateways_share_one_budget_through_redis(backend, tokens, prefix):
    shared = {
        "redis_url": REDIS_URL,
        "redis_key_prefix": prefix,
        "rate_limit_burst": 5,
        "rate_limit_per_second": SLOW,
    }
    headers = auth(tokens["operator_f"])
    async with (
        gateway(backend.url, **shared) as (_, one),
        gateway(backend.url, **shared) as (_, two),
    ):
        graphql = await one.post("/graphql", json=THREE, headers=headers)  # draws 3
        rest = await two.get(REST, headers=headers)  # 1 left
        last = await one.get(REST, headers=headers)  # 0 left
        refused_two = await two.get(REST, headers=headers)
        refused_one = await one.post("/graphql", json=THREE, headers=headers)
    assert graphql.status_code == 200 and graphql.headers["ratelimit-remaining"] == "2"
    assert rest.status_code == 200 and rest.headers["ratelimit-remaining"] == "1"
    assert last.status_code == 200 and last.headers["ratelimit-remaining"] == "0"
    assert refused_two.status_code == 429
    assert refused_two.json()["error_code"] == "ERRORS.RATE_LIMITED"
    assert int(refused_two.headers["retry-after"]) >= 1
    assert refused_one.status_code == 429
    assert graphql_error(refused_one)["extensions"]["code"] == "RATE_LIMITED"


DRAW_IN_ANOTHER_PROCESS = """
import asyncio, sys
from gateway.redis_buckets import RedisBuckets

async def main():
    buckets = RedisBuckets(sys.argv[1], burst=4, per_second=0.001, prefix=sys.argv[2])
    for _ in range(3):
        assert (await buckets.take(sys.argv[3], 1)).allowed
    await buckets.close()

asyncio.run(main())
"""


async def test_another_process_spends_the_same_budget(backend, tokens, prefix):
    key = f"user:{USER_A}"  # the bucket of user A, whichever token or process they use
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", DRAW_IN_ANOTHER_PROCESS, REDIS_URL, prefix, key],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    settings = {"redis_url": REDIS_URL, "redis_key_prefix": prefix}
    async with gateway(backend.url, rate_limit_burst=4, rate_limit_per_second=SLOW, **settings) as (
        _,
        client,
    ):
        allowed = await client.get(REST, headers=auth(tokens["user_a"]))
        refused = await client.get(REST, headers=auth(tokens["user_a"]))
    assert allowed.status_code == 200 and allowed.headers["ratelimit-remaining"] == "0"
    assert refused.status_code == 429


async def test_concurrent_draws_from_two_clients_never_overspend(prefix):
    one = RedisBuckets(REDIS_URL, burst=20, per_second=0.0001, prefix=prefix)
    two = RedisBuckets(REDIS_URL, burst=20, per_second=0.0001, prefix=prefix)
    try:
        decisions = await asyncio.gather(
            *((one if n % 2 else two).take("contended", 1) for n in range(60))
        )
    finally:
        await one.close()
        await two.close()
    assert sum(d.allowed for d in decisions) == 20


async def test_redis_buckets_refill_at_their_rate(prefix):
    buckets = RedisBuckets(REDIS_URL, burst=2, per_second=20, prefix=prefix)
    try:
        assert (await buckets.take("k", 2)).allowed
        refused = await buckets.take("k", 1)
        assert not refused.allowed and refused.retry_after(1) == 1
        await asyncio.sleep(0.1)  # 2 tokens back at 20 per second
        assert (await buckets.take("k", 1)).allowed
    finally:
        await buckets.close()


async def test_an_owed_draw_leaves_a_redis_bucket_in_debt(prefix):
    buckets = RedisBuckets(REDIS_URL, burst=10, per_second=SLOW, prefix=prefix)
    try:
        await buckets.take("k", 8)
        owed = await buckets.take("k", 6, owed=True)
        refused = await buckets.take("k", 1)
    finally:
        await buckets.close()
    assert owed.allowed and round(owed.remaining) == -4
    assert not refused.allowed


async def test_bucket_keys_expire_once_full_again(prefix):
    buckets = RedisBuckets(REDIS_URL, burst=10, per_second=5, prefix=prefix)
    try:
        await buckets.take("k", 5)
        ttl = await buckets.redis.pttl(prefix + "k")
    finally:
        await buckets.close()
    assert 1000 < ttl <= 2000  # 5 tokens at 5 per second, plus a second of slack


async def test_an_unreachable_redis_stops_the_gateway_from_starting(backend):
    with pytest.raises(RuntimeError, match="Redis at REDIS_URL is not reachable"):
        async with gateway(backend.url, redis_url="redis://127.0.0.1:1/0"):
            pass


async def test_a_redis_outage_while_running_admits_requests_and_logs_once(caplog, prefix):
    buckets = RedisBuckets("redis://127.0.0.1:1/0", burst=1, per_second=SLOW, prefix=prefix)
    try:
        decisions = [await buckets.take("k", 1) for _ in range(3)]
    finally:
        await buckets.close()
    assert all(d.allowed for d in decisions)
    failures = [r for r in caplog.records if r.name == "session_gateway.ratelimit"]
    assert len(failures) == 1 and "rate limiting is off while Redis fails" in failures[0].message
