"""The gateway through a real PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer).

PgBouncer holds two server connections here, so that concurrent requests take turns on
them: a statement prepared by one client and left on a server, or a setting one client
made, would meet the others. Every answer through PgBouncer must be the answer PostgreSQL
gives directly.
"""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Integer, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Settings
from storage.database import DatabaseOptions, Reads, create_engine, ping
from tests.conftest import in_process_client, prepared_database, running_app
from tests.fixtures.dataset import LOC_X, SESSIONS, USER_A, add_device, load_dataset, load_tariffs
from tests.graphql.helpers import data, global_id
from tests.graphql.test_subscriptions import mutate, next_update, start_on, subscription
from tests.live_server import live_server
from tests.pgbouncer import running_pgbouncer, through

LIST = """query($first: Int!) { sessions(first: $first) {
  edges { cursor node { uuid kind status startTime endTime fee { currency value }
    details { ... on StorageDetails { location { name timeZone } device { kind name } }
              ... on TravelDetails { rentalDevice { name } rentalFleet { name } } }
    events { name timestamp } } }
  pageInfo { hasNextPage endCursor } } }"""
NODE = """query($id: ID!) { node(id: $id) { id ... on Location { name
  sessions(first: 5) { nodes { uuid status } } } } }"""
REST = [
    "/session/v2/sessions?limit=5",
    "/session/v2/sessions?status=ended&limit=3",
    f"/session/v2/users/{USER_A}/sessions/{SESSIONS[0].id}",
]


@pytest.fixture(scope="module")
def pgbouncer_port() -> Iterator[int]:
    with running_pgbouncer(pool_size=2) as port:
        yield port


@dataclass
class Pair:
    """The same database served directly and through PgBouncer."""

    url: str
    bounced_url: str
    tokens: dict[str, str]
    direct: httpx.AsyncClient
    bounced: httpx.AsyncClient
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def pair(pgbouncer_port, tmp_path_factory) -> AsyncIterator[Pair]:
    async def with_tariffs(engine: AsyncEngine) -> dict[str, str]:
        tokens = await load_dataset(engine)
        await load_tariffs(engine)
        return tokens

    directory = tmp_path_factory.mktemp("pgbouncer")
    async with prepared_database("postgresql", directory, with_tariffs) as (url, tokens):
        bounced_url = through(url, pgbouncer_port)
        engine = create_engine(url)
        async with (
            running_app(url) as direct_app,
            running_app(
                bounced_url, database_pooler="pgbouncer", database_listen_url=url
            ) as bounced_app,
            in_process_client(direct_app) as direct,
            in_process_client(bounced_app) as bounced,
        ):
            yield Pair(url, bounced_url, tokens, direct, bounced, engine)
        await engine.dispose()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_pgbouncer_refuses_the_settings_a_direct_connection_sends(pair):
    engine = create_engine(pair.bounced_url)  # no DATABASE_POOLER
    try:
        with pytest.raises(Exception, match="unsupported startup parameter"):
            await ping(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("held", [True, False], ids=["a-request", "one-read-each"])
async def test_a_statement_runs_on_the_server_that_prepared_it(pair, held):
    # A statement SQLAlchemy has not seen is prepared, then run. Prepared under a name
    # (a statement cache's way), it lives on one server and is run on whichever server
    # PgBouncer hands out next: "prepared statement ... does not exist".
    engine = create_engine(pair.bounced_url, DatabaseOptions(pooler="pgbouncer"))

    async def reader(i: int) -> None:
        reads = Reads(engine, held=held)
        try:
            for j in range(10):
                fresh = select(literal(i, Integer) * 100 + literal(j, Integer))
                assert (await reads.rows(fresh))[0][0] == i * 100 + j
        finally:
            await reads.release()

    try:
        await asyncio.gather(*(reader(i) for i in range(16)))
    finally:
        await engine.dispose()


async def test_graphql_and_rest_reads_answer_as_postgresql_does(pair):
    for token in (pair.tokens["admin"], pair.tokens["user_a"], pair.tokens["operator_x"]):
        for client_first in (2, 20):
            expected = await data(pair.direct, token, LIST, first=client_first)
            assert await data(pair.bounced, token, LIST, first=client_first) == expected
        node = {"id": global_id("Location", LOC_X)}
        assert await data(pair.bounced, token, NODE, **node) == await data(
            pair.direct, token, NODE, **node
        )
        for path in REST:
            direct = await pair.direct.get(path, headers=_auth(token))
            bounced = await pair.bounced.get(path, headers=_auth(token))
            assert (bounced.status_code, bounced.json()) == (direct.status_code, direct.json())
    listed = await data(pair.bounced, pair.tokens["admin"], LIST, first=20)
    assert len(listed["sessions"]["edges"]) == min(20, len(SESSIONS))


async def test_concurrent_requests_take_turns_on_two_server_connections(pair):
    admin, user = pair.tokens["admin"], pair.tokens["user_a"]
    expected_list = await data(pair.direct, admin, LIST, first=10)
    expected_rest = (await pair.direct.get(REST[0], headers=_auth(user))).json()

    async def graphql_list() -> None:
        assert await data(pair.bounced, admin, LIST, first=10) == expected_list

    async def rest_list() -> None:
        response = await pair.bounced.get(REST[0], headers=_auth(user))
        assert (response.status_code, response.json()) == (200, expected_rest)

    for _ in range(3):  # many rounds, each statement run often enough to be compiled
        await asyncio.gather(
            *(graphql_list() for _ in range(12)), *(rest_list() for _ in range(12))
        )


async def test_mutations_write_through_pgbouncer_and_reads_see_them(pair):
    token = pair.tokens["user_a"]
    locker = await add_device(pair.engine, "locker", location=LOC_X)
    started = await data(
        pair.bounced,
        token,
        f'mutation {{ startSession(deviceId: "{locker}") {{ ... on Session {{ uuid status }} }} }}',
    )
    session_id = started["startSession"]["uuid"]
    path = f"/session/v2/users/{USER_A}/sessions/{session_id}"
    active = (await pair.bounced.get(path, headers=_auth(token))).json()
    assert active["status"] == "active"
    ended = await data(
        pair.bounced,
        token,
        f'mutation {{ endSession(sessionId: "{session_id}") {{ ... on Session {{ status }} }} }}',
    )
    assert ended["endSession"]["status"] == "ENDED"
    for client in (pair.bounced, pair.direct):
        body = (await client.get(path, headers=_auth(token))).json()
        assert (body["status"], [e["name"] for e in body["events"]]) == ("ended", ["start", "end"])


async def test_a_persisted_query_is_kept_through_pgbouncer_and_found_again(pair):
    document = "query Persisted { sessions(first: 1) { nodes { uuid } } }"
    digest = hashlib.sha256(document.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = _auth(pair.tokens["admin"])
    first = await pair.bounced.post(
        "/graphql", json={"query": document, "extensions": extensions}, headers=headers
    )
    assert "errors" not in first.json(), first.json()
    by_hash = await pair.direct.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers=headers
    )
    assert by_hash.json() == first.json()


async def test_a_subscriber_behind_pgbouncer_hears_a_change_made_through_it(pair):
    admin = pair.tokens["admin"]
    env = {"DATABASE_POOLER": "pgbouncer", "DATABASE_LISTEN_URL": pair.url}
    async with (
        live_server(pair.bounced_url, **env) as base,
        subscription(base, admin) as socket,
    ):
        device = await add_device(pair.engine, "locker", location=LOC_X)
        started = await mutate(base, admin, start_on(device, USER_A))
        update = await next_update(socket)
        assert update["uuid"] == started["startSession"]["uuid"]


def test_the_pooler_needs_a_direct_listen_url_and_a_known_name():
    bounced = {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:6432/sessions"}
    with pytest.raises(ValueError, match="DATABASE_LISTEN_URL"):
        Settings.from_env({**bounced, "DATABASE_POOLER": "pgbouncer"})
    assert (
        Settings.from_env(
            {
                **bounced,
                "DATABASE_POOLER": "pgbouncer",
                "LIVE_UPDATES": "redis",
                "REDIS_URL": "redis://x",
            }
        ).listen_url()
        == bounced["DATABASE_URL"]
    )  # Redis carries the notices: nothing LISTENs
    with pytest.raises(ValueError, match="DATABASE_POOLER='pgpool'"):
        Settings.from_env({**bounced, "DATABASE_POOLER": "pgpool"})
