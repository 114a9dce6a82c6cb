"""Prometheus metrics an operator watches: operations, batches, pool, subscriptions, 404s."""

import asyncio

import httpx

from gateway.metrics import Metrics
from tests.conftest import auth
from tests.graphql.test_subscriptions import subscription
from tests.live_server import live_server


def sample(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"no sample starting with {prefix!r}"
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


async def test_graphql_operations_are_counted_by_name(client, tokens):
    query = "query FrontendList { sessions(first: 3) { nodes { uuid events { name } } } }"
    await client.post("/graphql", json={"query": query}, headers=auth(tokens["admin"]))
    text = (await client.get("/metrics")).text
    prefix = (
        'session_gateway_graphql_operations_total{name="FrontendList",outcome="ok",type="query"}'
    )
    assert sample(text, prefix) >= 1


async def test_loader_batch_sizes_are_observed(client, tokens):
    # A page's events and references come in its own statement; the open sessions of
    # the page's devices through a loader, one batch of five keys.
    query = "{ devices(first: 5) { nodes { currentSession { uuid } } } }"
    text = (await client.get("/metrics")).text
    prefix = "session_gateway_loader_batch_size_sum"
    before = sample(text, prefix) if prefix in text else 0.0  # no batch yet: no sample yet
    await client.post("/graphql", json={"query": query}, headers=auth(tokens["admin"]))
    text = (await client.get("/metrics")).text
    assert sample(text, prefix) >= before + 5
    assert 'loader="OpenSessionByDeviceLoader"' in text


POOL = "session_gateway_db_pool_checked_out"
SUBSCRIPTIONS = "session_gateway_open_subscriptions"


async def test_the_pool_gauge_counts_the_connections_checked_out_of_the_gateways_pool(app, client):
    engine = app.state.gateway.engine
    before = sample((await client.get("/metrics")).text, POOL)
    async with engine.connect() as first, engine.connect() as second:
        await first.exec_driver_sql("SELECT 1")
        await second.exec_driver_sql("SELECT 1")
        during = sample((await client.get("/metrics")).text, POOL)
    after = sample((await client.get("/metrics")).text, POOL)
    assert (during - before, after) == (2, before)


async def gauge_reaches(base: str, prefix: str, value: float) -> float:
    """The gauge once it shows ``value`` (it follows the server's own tasks), or its last."""
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            seen = sample((await http.get(f"{base}/metrics")).text, prefix)
            if seen == value:
                break
            await asyncio.sleep(0.05)
    return seen


async def test_the_subscription_gauge_counts_open_subscriptions(writable):
    admin = writable.tokens["admin"]
    async with live_server(writable.url) as base:
        assert await gauge_reaches(base, SUBSCRIPTIONS, 0) == 0
        async with subscription(base, admin), subscription(base, admin):
            assert await gauge_reaches(base, SUBSCRIPTIONS, 2) == 2
        assert await gauge_reaches(base, SUBSCRIPTIONS, 0) == 0


async def test_a_trailing_slash_is_not_redirected(client, tokens):
    response = await client.get("/session/v2/sessions/", headers=auth(tokens["admin"]))
    assert response.status_code == 404
    assert response.json()["error_code"] == "ERRORS.NOT_FOUND"


def test_label_values_chosen_by_clients_stay_bounded():
    metrics = Metrics()
    for n in range(300):
        metrics.count_operation("query", f"Generated{n}", failed=False)
        metrics.observe(f"M{n}", "/graphql", 405, 0.001)
    text = metrics.response(None).body.decode()
    assert 'name="other"' in text
    assert text.count("session_gateway_graphql_operations_total{") <= 202
    assert 'method="M1"' not in text and 'method="other"' in text
