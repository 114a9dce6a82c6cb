"""A database outage: requests fail fast with 503, nothing hangs, service resumes by itself."""

import asyncio
import time
import uuid
from contextlib import asynccontextmanager

import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import auth, in_process_client, prepared_database
from tests.fault_proxy import FaultProxy
from tests.fixtures.dataset import SESSIONS, load_dataset

LIST = "/session/v2/sessions?limit=5"
QUERY = {"query": "{ sessions(first: 2) { nodes { uuid } } }"}


@pytest.fixture
async def outage(tmp_path):
    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, tokens):
        proxy = FaultProxy()
        await proxy.start()
        try:
            async with _gateway_through(proxy, url) as client:
                yield proxy, client, tokens
        finally:
            await proxy.cut()


@asynccontextmanager
async def _gateway_through(proxy, url):
    """The gateway reaching its database only through the proxy, with short time limits."""
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    settings = Settings(
        database_url=proxied,
        pagination_secret="outage-signing-key-0123456789",
        db_connect_timeout=1.0,
        db_statement_timeout_ms=2000,
    )
    app = create_app(settings)
    # Closing connections the proxy dropped can outlast asgi-lifespan's default 5 s when
    # the machine is busy; shutdown has tests of its own (tests/gateway/test_shutdown.py).
    async with LifespanManager(app, shutdown_timeout=30), in_process_client(app) as client:
        yield client


async def test_an_outage_is_a_fast_503_and_service_resumes_by_itself(outage):
    proxy, client, tokens = outage
    headers = auth(tokens["admin"])
    assert (await client.get(LIST, headers=headers)).status_code == 200

    await proxy.cut()
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(client.get(LIST, headers=headers) for _ in range(10)),
        *(client.post("/graphql", json=QUERY, headers=headers) for _ in range(10)),
        client.get("/readyz"),
    )
    assert time.perf_counter() - started < 10, "requests must fail fast, not hang"
    rest, graphql, ready = answers[:10], answers[10:20], answers[20]
    for response in rest:
        assert response.status_code == 503, response.text
        assert response.json()["error_code"] == "ERRORS.UNAVAILABLE"
        assert response.headers["retry-after"]
    for response in graphql:
        assert response.status_code == 503, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert ready.status_code == 503

    await proxy.restore()
    deadline = time.perf_counter() + 5
    while True:
        response = await client.get(LIST, headers=headers)
        ready = await client.get("/readyz")  # the database, and the live update listener
        if (response.status_code, ready.status_code) == (200, 200):
            break
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200, "service did not resume within 5 s"
    assert ready.status_code == 200, "not ready again within 5 s"


async def test_a_write_during_an_outage_is_not_half_applied(outage):
    proxy, client, tokens = outage
    headers = auth(tokens["admin"])
    active = SESSIONS[1].id
    await proxy.cut()
    mutation = f'mutation {{ endSession(sessionId: "{active}") {{ __typename }} }}'
    response = await client.post("/graphql", json={"query": mutation}, headers=headers)
    assert response.status_code in (200, 503)
    await proxy.restore()
    await asyncio.sleep(0.5)
    device = SESSIONS[1].device
    query = (
        f'{{ sessions(filter: {{deviceId: "{device}"}}) '
        "{ nodes { uuid status events { name } } } }"
    )
    for _ in range(25):
        body = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        if "errors" not in body:
            break
        await asyncio.sleep(0.2)
    node = next(n for n in body["data"]["sessions"]["nodes"] if n["uuid"] == str(active))
    assert node == {"uuid": str(active), "status": "ACTIVE", "events": [{"name": "START"}]}
    assert uuid.UUID(node["uuid"]) == active


async def test_connections_dropped_while_idle_cost_no_request(outage):
    """The pool does not ping on checkout: reads retry once, writes check their connection."""
    proxy, client, tokens = outage
    headers = auth(tokens["admin"])
    warm = [client.get(LIST, headers=headers) for _ in range(4)]
    assert {r.status_code for r in await asyncio.gather(*warm)} == {200}
    await proxy.cut()  # every pooled connection is dropped while nobody asks anything
    await proxy.restore()

    assert (await client.get(LIST, headers=headers)).status_code == 200
    assert (await client.post("/graphql", json=QUERY, headers=headers)).json()["data"]
    await proxy.cut()
    await proxy.restore()
    active = SESSIONS[1].id
    mutation = (
        f'mutation {{ endSession(sessionId: "{active}") '
        "{ __typename ... on Session { status } } }"
    )
    body = (await client.post("/graphql", json={"query": mutation}, headers=headers)).json()
    assert body["data"] == {"endSession": {"__typename": "Session", "status": "ENDED"}}
