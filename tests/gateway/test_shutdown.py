"""Stopping a gateway: in-flight work finishes, subscriptions close, the process exits."""

import asyncio
import json
import signal
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.live_server import live_process


async def test_sigterm_closes_subscriptions_and_exits_within_the_grace_period(writable):
    async with live_process(writable.url, **writable.env) as (base, process):
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            token = writable.tokens["admin"]
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            query = "subscription { sessionUpdated { uuid } }"
            await socket.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})
            )
            await asyncio.sleep(0.3)

            process.send_signal(signal.SIGTERM)
            stopped = time.perf_counter()
            closed = False
            try:
                await asyncio.wait_for(socket.recv(), 15)
            except ConnectionClosed:
                closed = True
            assert closed, "the subscription was not closed on shutdown"
        await asyncio.wait_for(process.wait(), 15)
        assert time.perf_counter() - stopped < 13  # --graceful-timeout 10, plus start-up slack
        # uvicorn re-raises the signal once shut down, so the exit status says SIGTERM.
        assert process.returncode in (0, -signal.SIGTERM)
        async with httpx.AsyncClient() as client:
            try:
                await client.get(f"{base}/readyz", timeout=2)
                reachable = True
            except httpx.TransportError:
                reachable = False
        assert not reachable, "a stopped gateway must not look ready"
