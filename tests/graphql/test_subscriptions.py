"""Live updates over graphql-transport-ws, through real gateway processes and WebSockets."""

import asyncio
import json
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from storage.database import create_engine
from tests.conftest import prepared_database
from tests.fixtures.dataset import LOC_X, USER_A, USER_B, add_device, load_dataset
from tests.graphql.helpers import global_id
from tests.live.clients import closed_by_server
from tests.live_server import live_server

SUBSCRIBE = "subscription($filter: SessionFilter) { sessionUpdated(filter: $filter) { uuid status userId events { name } } }"  # noqa: E501


@asynccontextmanager
async def subscription(base: str, token: str, variables=None):
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE, "variables": variables or {}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await asyncio.sleep(0.3)  # let the server register the subscription
        yield socket


async def next_update(socket, seconds=10.0):
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), seconds))
        if message["type"] == "next":
            assert message["payload"].get("data"), message
            return message["payload"]["data"]["sessionUpdated"]
        assert message["type"] in ("ping", "pong"), message


async def mutate(base: str, token: str, query: str):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def start_on(device, user):
    return f'mutation {{ startSession(deviceId: "{device}", userId: "{user}") {{ ... on Session {{ uuid }} }} }}'  # noqa: E501


@pytest.fixture
async def new_device(writable):
    engine = create_engine(writable.url)
    try:
        yield lambda: add_device(engine, "locker", location=LOC_X)
    finally:
        await engine.dispose()


async def test_a_subscriber_sees_a_session_change_after_commit(writable, new_device):
    admin = writable.tokens["admin"]
    async with (
        live_server(writable.url, **writable.env) as base,
        subscription(base, admin) as socket,
    ):
        locker = await new_device()
        started = await mutate(base, admin, start_on(locker, USER_A))
        update = await next_update(socket)
        assert update["uuid"] == started["startSession"]["uuid"]
        assert update["status"] == "ACTIVE"
        assert update["events"] == [{"name": "START"}]
        await mutate(
            base,
            admin,
            f'mutation {{ endSession(sessionId: "{update["uuid"]}") {{ __typename }} }}',
        )
        ended = await next_update(socket)
        assert ended["status"] == "ENDED"
        assert [e["name"] for e in ended["events"]] == ["START", "END"]


async def test_subscribers_only_see_what_they_may_see(writable, new_device):
    admin = writable.tokens["admin"]
    user_b = writable.tokens["user_b"]
    async with (
        live_server(writable.url, **writable.env) as base,
        subscription(base, user_b) as socket,
    ):
        await mutate(base, admin, start_on(await new_device(), USER_A))
        theirs = await mutate(base, admin, start_on(await new_device(), USER_B))
        update = await next_update(socket)
        assert update["uuid"] == theirs["startSession"]["uuid"]
        assert update["userId"] == str(USER_B)


async def test_a_filter_narrows_the_updates(writable, new_device):
    admin = writable.tokens["admin"]
    only_b = {"filter": {"userId": str(USER_B)}}
    async with (
        live_server(writable.url, **writable.env) as base,
        subscription(base, admin, only_b) as socket,
    ):
        await mutate(base, admin, start_on(await new_device(), USER_A))
        theirs = await mutate(base, admin, start_on(await new_device(), USER_B))
        assert (await next_update(socket))["uuid"] == theirs["startSession"]["uuid"]


async def test_a_connection_without_a_valid_token_is_closed(writable):
    async with live_server(writable.url, **writable.env) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            await socket.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
            assert closed.value.rcvd.code == 4403
            assert closed.value.rcvd.reason == "the bearer token is malformed"


@pytest.fixture
async def postgres_only(tmp_path):
    """A fresh PostgreSQL database with the dataset: cross-process fan-out needs PostgreSQL."""
    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, tokens):
        engine = create_engine(url)
        try:
            yield url, tokens, engine
        finally:
            await engine.dispose()


async def test_a_change_made_by_one_process_reaches_a_subscriber_of_another(postgres_only):
    url, tokens, engine = postgres_only
    admin = tokens["admin"]
    async with (
        live_server(url) as first,
        live_server(url) as second,
        subscription(first, admin) as socket,
    ):
        device = await add_device(engine, "locker", location=LOC_X)
        started = await mutate(second, admin, start_on(device, USER_A))
        update = await next_update(socket)
        assert update["uuid"] == started["startSession"]["uuid"]


async def test_a_socket_closes_when_its_token_expires(writable):
    from datetime import UTC, datetime, timedelta

    from resolvers.identity import create_token
    from storage.enums import Role

    engine = create_engine(writable.url)
    try:
        async with live_server(writable.url, **writable.env) as base:
            soon = datetime.now(UTC) + timedelta(seconds=2)
            short_lived = await create_token(engine, Role.ADMIN, expires_at=soon)
            async with subscription(base, short_lived) as socket:
                closed = await closed_by_server(socket)
                assert closed.code == 4403
                assert "expired" in closed.reason
    finally:
        await engine.dispose()


async def test_queries_over_a_socket_read_fresh_data_each_time(writable, new_device):
    admin = writable.tokens["admin"]
    async with live_server(writable.url, **writable.env) as base:
        started = await mutate(base, admin, start_on(await new_device(), USER_B))
        session_id = started["startSession"]["uuid"]
        node_id = global_id("Session", uuid.UUID(session_id))
        # node() reads through the per-request session loader, whose cache must not outlive
        # one operation.
        query = f'{{ node(id: "{node_id}") {{ ... on Session {{ status }} }} }}'

        async def status_over(socket, op_id):
            message = {"id": op_id, "type": "subscribe", "payload": {"query": query}}
            await socket.send(json.dumps(message))
            while True:
                reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if reply["type"] == "next":
                    return reply["payload"]["data"]["node"]["status"]

        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin}"}}
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            assert await status_over(socket, "a") == "ACTIVE"
            await mutate(
                base,
                admin,
                f'mutation {{ endSession(sessionId: "{session_id}") {{ __typename }} }}',
            )
            assert await status_over(socket, "b") == "ENDED"


async def _closed_with(socket) -> tuple[int | None, str]:
    """The close code and reason the server ends the socket with (other messages skipped)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")


MALFORMED = [
    (True, [1, 2, 3], "JSON object with a string type"),
    (True, {"type": 7}, "JSON object with a string type"),
    (False, {"id": "1", "type": "subscribe", "payload": "x"}, "payload must be an object"),
    (False, {"id": 1, "type": "subscribe", "payload": {"query": "{ viewer { role } }"}},
     "non-empty string id"),
    (False, {"id": "1", "type": "subscribe", "payload": {"query": 5}},
     "payload.query must be a str"),
    (False, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": [1]}},
     "payload.variables"),
    (False, {"type": "complete"}, "non-empty string id"),
]  # fmt: skip


async def test_a_malformed_socket_message_closes_with_4400(backend):
    async with live_server(backend.url) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        for before_init, frame, reason in MALFORMED:
            async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
                if not before_init:
                    init = {"Authorization": f"Bearer {backend.tokens['admin']}"}
                    await socket.send(json.dumps({"type": "connection_init", "payload": init}))
                    assert json.loads(await socket.recv())["type"] == "connection_ack"
                await socket.send(json.dumps(frame))
                code, said = await _closed_with(socket)
            assert code == 4400 and reason in said, (frame, code, said)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/healthz")).status_code == 200
