"""Sockets meet the limits HTTP requests meet: rate limit, caps, revocation, close reasons."""

import asyncio
import json
import os
import sys

import httpx
import pytest
from sqlalchemy import delete
from websockets.asyncio.client import connect

from storage.database import create_engine
from storage.models import ApiToken
from tests.conftest import prepared_database
from tests.fixtures.dataset import load_dataset
from tests.live.clients import (
    Inbox,
    bus_settings,
    closed_by_server,
    open_socket,
    subscribe,
    wait_for_subscriptions,
)
from tests.live_server import live_server

SLOW = {"RATE_LIMIT_PER_SECOND": "0.001"}  # nothing refills during a test
REST = "/session/v2/sessions?limit=1"


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def init(base: str, token: str):
    socket = await connect(ws_url(base), subprotocols=["graphql-transport-ws"])
    message = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await socket.send(json.dumps(message))
    return socket


async def test_a_drained_bucket_refuses_socket_operations_and_connections(writable):
    token = writable.tokens["operator_x"]
    async with live_server(writable.url, RATE_LIMIT_BURST="6", **SLOW) as base:
        inbox = Inbox(await open_socket(base, token))  # pays 1
        async with httpx.AsyncClient() as client:
            headers = {"Authorization": f"Bearer {token}"}
            answers = [
                (await client.get(base + REST, headers=headers)).status_code for _ in range(6)
            ]
        assert answers == [200] * 5 + [429]
        await subscribe(inbox.socket, "late")
        await inbox.wait_for(lambda: inbox.received["late"])
        refusal = inbox.received["late"][0]
        assert refusal["type"] == "error"
        assert refusal["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert refusal["payload"][0]["extensions"]["correlationId"]
        closed = await closed_by_server(await init(base, token))
        assert closed.code == 4429
        assert closed.reason.startswith("rate limit exceeded")
        await inbox.close()


async def test_failed_authentications_are_charged_to_the_client_address(writable):
    async with live_server(writable.url, RATE_LIMIT_BURST="3", **SLOW) as base:
        refusals = [await closed_by_server(await init(base, "sgw_" + "x" * 43)) for _ in range(4)]
    assert [(c.code, c.reason) for c in refusals[:3]] == [
        (4403, "the bearer token is not known")
    ] * 3
    assert refusals[3].code == 4429


async def test_sockets_and_subscriptions_per_principal_are_capped(writable):
    admin, other = writable.tokens["admin"], writable.tokens["user_b"]
    caps = {"WS_MAX_SOCKETS_PER_PRINCIPAL": "2", "WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "3"}
    async with live_server(writable.url, **caps) as base:
        first = Inbox(await open_socket(base, admin))
        second = Inbox(await open_socket(base, admin))
        closed = await closed_by_server(await init(base, admin))
        assert closed.code == 4429
        assert closed.reason == "too many WebSockets: at most 2 per principal are open at once"
        elsewhere = Inbox(await open_socket(base, other))  # another principal's own count

        for op_id in ("a", "b"):
            await subscribe(first.socket, op_id)
        await subscribe(second.socket, "c")
        await wait_for_subscriptions(base, 3)
        await subscribe(second.socket, "d")
        await second.wait_for(lambda: second.socket.close_code is not None)
        assert second.errors("d")[0]["extensions"]["code"] == "TOO_MANY_CONNECTIONS"
        assert second.socket.close_code == 4429
        assert second.socket.close_reason == (
            "too many subscriptions: at most 3 per principal are open at once"
        )
        await wait_for_subscriptions(base, 2)  # the closed socket's "c" ended with it
        await subscribe(first.socket, "f")  # the principal's other socket goes on
        await subscribe(elsewhere.socket, "e")
        await wait_for_subscriptions(base, 4)
        for inbox in (first, second, elsewhere):
            await inbox.close()


async def test_a_deleted_token_closes_its_sockets_within_the_check_interval(writable):
    from resolvers.identity import create_token
    from storage.enums import Role

    engine = create_engine(writable.url)
    try:
        token = await create_token(engine, Role.ADMIN, label="to delete")
        async with live_server(writable.url, WS_TOKEN_CHECK_SECONDS="1") as base:
            inbox = Inbox(await open_socket(base, token))
            await subscribe(inbox.socket, "1")
            await wait_for_subscriptions(base, 1)
            async with engine.begin() as connection:
                await connection.execute(delete(ApiToken).where(ApiToken.label == "to delete"))
            await inbox.wait_for(lambda: inbox.socket.close_code is not None, seconds=5)
            assert inbox.socket.close_code == 4403
            assert inbox.socket.close_reason == "the bearer token is not known"
    finally:
        await engine.dispose()


@pytest.fixture(params=["postgres", "redis"])
async def bus_mode(request, tmp_path):
    """PostgreSQL with the live update bus of each mode."""
    env = bus_settings(request.param)
    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, tokens):
        yield url, tokens, env


async def test_token_revoke_closes_the_tokens_sockets_at_once(bus_mode):
    url, _, env = bus_mode
    from resolvers.identity import create_token
    from storage.enums import Role

    engine = create_engine(url)
    try:
        token = await create_token(engine, Role.ADMIN)
    finally:
        await engine.dispose()
    async with live_server(url, WS_TOKEN_CHECK_SECONDS="3600", **env) as base:
        inbox = Inbox(await open_socket(base, token))
        await subscribe(inbox.socket, "1")
        await wait_for_subscriptions(base, 1)
        revoke = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "token", "revoke", token,
            env={**os.environ, "DATABASE_URL": url, **env},
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        printed, _ = await revoke.communicate()
        assert revoke.returncode == 0
        assert len(printed.decode().strip()) == 36  # the token's id
        await inbox.wait_for(lambda: inbox.socket.close_code is not None, seconds=5)
        assert inbox.socket.close_code == 4403
        assert inbox.socket.close_reason == "the bearer token was revoked"
