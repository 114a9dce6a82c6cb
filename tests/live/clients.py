"""Subscribers over real WebSockets, and a writer that changes sessions without any gateway."""

import asyncio
import json
import os
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from resolvers.context import RequestScope, WriteLimits
from resolvers.cursors import CursorCodec
from resolvers.scope import Principal
from storage.enums import Role
from storage.updates import create_update_bus

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SUBSCRIBE = (
    "subscription($filter: SessionFilter) "
    "{ sessionUpdated(filter: $filter) { uuid status userId events { name } } }"
)


async def open_socket(base: str, token: str) -> ClientConnection:
    """A graphql-transport-ws connection, acknowledged."""
    socket = await connect(
        base.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await socket.send(json.dumps(init))
    reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert reply["type"] == "connection_ack", reply
    return socket


async def subscribe(socket: ClientConnection, op_id: str, variables: dict | None = None) -> None:
    """Start a ``sessionUpdated`` subscription with the given id."""
    payload = {"query": SUBSCRIBE, "variables": variables or {}}
    await socket.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


class Inbox:
    """Every message a socket receives, by operation id, gathered in the background."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.received: dict[str, list[dict]] = defaultdict(list)
        self.arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if "id" in message:
                    self.received[message["id"]].append(message)
                    self.arrived.set()
        except ConnectionClosed:
            pass  # the close code and reason stay on the socket
        finally:
            self.arrived.set()

    def updates(self, op_id: str) -> list[dict]:
        """The sessions delivered to one subscription, in order."""
        return [
            m["payload"]["data"]["sessionUpdated"]
            for m in self.received[op_id]
            if m["type"] == "next" and m["payload"].get("data")
        ]

    def errors(self, op_id: str) -> list[dict]:
        """The errors delivered to one subscription, in order."""
        return [
            error
            for m in self.received[op_id]
            if m["type"] == "next"
            for error in m["payload"].get("errors") or []
        ]

    async def wait_for(self, condition, seconds: float = 15.0) -> None:
        """Wait until ``condition()`` holds."""
        async with asyncio.timeout(seconds):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        await self.socket.close()
        self._task.cancel()


async def metric(base: str, name: str) -> float:
    """One sample of a gateway's Prometheus metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base}/metrics")).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


async def wait_for_subscriptions(base: str, count: int) -> None:
    """Wait until the gateway has ``count`` subscriptions open."""
    async with asyncio.timeout(15):
        while await metric(base, "session_gateway_open_subscriptions") != count:  # noqa: ASYNC110 (polls another process)
            await asyncio.sleep(0.05)


@asynccontextmanager
async def writer_scope(engine, env: dict[str, str] | None = None) -> AsyncIterator[RequestScope]:
    """An admin scope writing straight to the database, announcing changes on the bus of
    the gateways' settings (``env``: LIVE_UPDATES, REDIS_URL, REDIS_KEY_PREFIX).

    It opens many sessions for the same riders, so the open-session quota is off."""
    env = env or {}
    bus = create_update_bus(
        engine,
        env.get("LIVE_UPDATES", "postgres"),
        env.get("REDIS_URL", ""),
        env.get("REDIS_KEY_PREFIX", ""),
    )
    try:
        yield RequestScope.open(
            Principal(Role.ADMIN, "writer"),
            engine,
            CursorCodec(b"k" * 32),
            bus,
            limits=WriteLimits(max_open_sessions=0),
        )
    finally:
        await bus.stop()


def bus_settings(mode: str) -> dict[str, str]:
    """Gateway settings for a live update bus mode, with Redis keys of this test alone."""
    if mode == "postgres":
        return {"LIVE_UPDATES": "postgres"}
    return {
        "LIVE_UPDATES": "redis",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"sgw-test-{uuid.uuid4().hex[:12]}:",
    }


async def closed_by_server(socket: ClientConnection, seconds: float = 10.0) -> Close:
    """Read until the server closes the socket; returns its close frame."""
    frame = None
    try:
        async with asyncio.timeout(seconds):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None, "closed without a close frame"
    return frame
