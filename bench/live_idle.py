"""Idle subscribers for scenario (f): connected while the lifecycle writes run, sent nothing.

``IdleSubscribers(port, tokens)`` opens 40 graphql-transport-ws sockets to the gateway
from a thread of its own (its own event loop, so that wrk and the bench are not slowed
by it) and spreads 1,000 ``sessionUpdated`` subscriptions over them, for three
principals (``idle_tokens``): an admin filtering on a rider without sessions, that
rider's own token, and an operator of a location without sessions. Every change (f)
makes is then read by each gateway process and matched against every subscription,
and sent to none: what (f) pays for subscribers that are connected and idle. The
subscriptions receive nothing; ``received`` and ``ended`` count what they were sent all
the same (the bench checks both are 0).
"""

import asyncio
import json
import threading
from types import TracebackType
from typing import Any

from bench.datasets import cli

NOBODY = "00000000-0000-4000-8000-00000000dead"  # a rider without sessions
NOWHERE = "00000000-0000-4000-8000-00000000beef"  # a location without sessions
SUBSCRIBE = (
    "subscription($filter: SessionFilter) { sessionUpdated(filter: $filter) "
    "{ uuid status events { name } details { ... on StorageDetails { location { name } } } } }"
)
SERVER_SETTINGS = {"WS_MAX_SOCKETS_PER_PRINCIPAL": "0", "WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "0"}


def idle_tokens(database_url: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Three principals' tokens (labelled 'bench'), each with the filter it subscribes with."""

    def token(*args: str) -> str:
        return cli(database_url, "token", "create", *args, "--label", "bench", capture=True)

    return [
        (token("--role", "admin"), {"userId": NOBODY}),
        (token("--role", "user", "--user-id", NOBODY), None),
        (token("--role", "operator", "--location", NOWHERE), None),
    ]


class IdleSubscribers:
    """``subscriptions`` over ``sockets`` WebSockets, open while the ``with`` block runs."""

    def __init__(
        self,
        port: int,
        tokens: list[tuple[str, dict[str, Any] | None]],
        subscriptions: int = 1000,
        sockets: int = 40,
    ) -> None:
        self.port, self.tokens = port, tokens
        self.subscriptions, self.sockets = subscriptions, sockets
        self.opened = 0  # subscriptions the server has taken
        self.received = 0  # updates sent to them (none expected)
        self.ended = 0  # subscriptions the server ended (none expected)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="idle-subscribers", daemon=True)

    def __enter__(self) -> "IdleSubscribers":
        self._thread.start()
        if not self._ready.wait(120):
            raise TimeoutError("the idle subscribers did not connect within 120 s")
        if self._failure is not None:
            raise RuntimeError(f"idle subscribers: {self._failure!r}") from self._failure
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the caller waiting in __enter__
            self._failure = error
            self._ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.client import connect

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        url = f"ws://127.0.0.1:{self.port}/graphql"
        per_socket = self.subscriptions // self.sockets
        sockets = []
        try:
            for n in range(self.sockets):
                token, variables = self.tokens[n % len(self.tokens)]
                socket = await connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)
                sockets.append(socket)
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                await socket.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"connection_init refused: {ack}")
                payload = {"query": SUBSCRIBE, "variables": {"filter": variables}}
                for op_id in range(per_socket):
                    message = {"id": str(op_id), "type": "subscribe", "payload": payload}
                    await socket.send(json.dumps(message))
                # A socket's messages are handled in order: its pong follows its subscribes.
                await socket.send(json.dumps({"type": "ping"}))
                while json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] != "pong":
                    pass
                self.opened += per_socket
            readers = [asyncio.create_task(self._read(socket)) for socket in sockets]
            self._ready.set()
            await self._stop.wait()
            for reader in readers:
                reader.cancel()
        finally:
            for socket in sockets:
                await socket.close()

    async def _read(self, socket: Any) -> None:
        async for raw in socket:
            message = json.loads(raw)
            if message.get("type") == "next":
                self.received += 1
            elif message.get("type") in ("error", "complete"):
                self.ended += 1
