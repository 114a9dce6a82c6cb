"""Live updates at full size: 2 gateway processes, 2,000 subscriptions, 200 changes.

    .venv/bin/python -m bench.live_proof [--subscriptions 2000] [--sockets 40] [--changes 200]

What ``tests/live/test_fanout.py`` proves at a scale the test suite can afford, at the
issue's size: two ``session-gateway serve`` processes over the live benchmark's database
(``sgw_live_bench``, see ``bench.live_writers``), 40 sockets of three principals (an
admin, a rider, an operator of one location) in turn, alternately on each process,
holding 2,000 ``sessionUpdated`` subscriptions (every other one filtered on the rider),
while a writer starts 200 sessions through the gateway's write path, for two riders at
two locations. It checks that every subscription receives exactly the changes its
principal may see and its filter matches, in commit order, and nothing else; and that
each process ran at most one statement per change (plus 2) to serve them all. It
reports the time until the last delivery and the gateway's CPU per delivery.
``make bench`` runs it too (``--only l``); its checks go with the run's.
"""

import argparse
import asyncio
import json
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench import loadgen, servers
from bench.datasets import cli
from bench.live_writers import DEFAULT_URL, bench_devices, prepare_database
from bench.tools import log

RIDER_A = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
RIDER_B = uuid.UUID("00000000-0000-4000-8000-0000000000b2")
SUBSCRIBE = (
    "subscription($filter: SessionFilter) "
    "{ sessionUpdated(filter: $filter) { uuid status userId events { name } } }"
)
SETTINGS = {
    "WS_MAX_SOCKETS_PER_PRINCIPAL": "0",
    "WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "0",
    "WS_TOKEN_CHECK_SECONDS": "3600",  # no token checks among the statements counted
}
RESULTS = Path(__file__).parent / "results"


class _Socket:
    """One subscriber socket: what each of its subscriptions received, in order."""

    def __init__(self, connection: Any, principal: str) -> None:
        self.connection, self.principal = connection, principal
        self.updates: dict[str, list[str]] = {}
        self.other: list[dict[str, Any]] = []  # anything but an update (none expected)
        self.count = 0
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            data = (message.get("payload") or {}).get("data") if "id" in message else None
            if message.get("type") == "next" and data:
                self.updates.setdefault(message["id"], []).append(data["sessionUpdated"]["uuid"])
                self.count += 1
            elif message.get("type") not in ("ping", "pong"):
                self.other.append(message)


async def _open(port: int, token: str, principal: str, subscriptions: int) -> _Socket:
    from websockets.asyncio.client import connect

    connection = await connect(
        f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None
    )
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await connection.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(connection.recv(), 30))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection_init refused: {ack}")
    for op in range(subscriptions):
        variables = {"filter": {"userId": str(RIDER_B)}} if op % 2 else {}
        payload = {"query": SUBSCRIBE, "variables": variables}
        await connection.send(json.dumps({"id": str(op), "type": "subscribe", "payload": payload}))
    # A socket's messages are handled in order: its pong follows its subscribes.
    await connection.send(json.dumps({"type": "ping"}))
    while json.loads(await asyncio.wait_for(connection.recv(), 30))["type"] != "pong":
        pass
    return _Socket(connection, principal)


def _cpu(gateways: list[servers.Server]) -> float:
    total = 0.0
    for gateway in gateways:
        for process in gateway.workers():
            times = process.cpu_times()
            total += times.user + times.system
    return total


async def prove(
    url: str, logs: Path, subscriptions: int = 2000, sockets: int = 40, changes: int = 200
) -> dict[str, Any]:
    """Run the proof; its measurements, with ``problems`` (empty when it holds)."""
    from sqlalchemy import select

    from resolvers.commands import start_session
    from resolvers.context import RequestScope, WriteLimits
    from resolvers.cursors import CursorCodec
    from resolvers.scope import Principal
    from storage.database import create_engine, fetch_rows
    from storage.enums import Role
    from storage.models import Location
    from storage.updates import create_update_bus

    await prepare_database(url, 20_000)
    engine = create_engine(url)
    here, there = [row[0] for row in await fetch_rows(engine, select(Location.id).limit(2))]

    def token(*args: str) -> str:
        return cli(url, "token", "create", *args, "--label", "bench", capture=True)

    tokens = {
        "admin": token("--role", "admin"),
        "rider": token("--role", "user", "--user-id", str(RIDER_B)),
        "operator": token("--role", "operator", "--location", str(here)),
    }
    plan = [(RIDER_A if i % 3 == 0 else RIDER_B, here if i % 2 else there) for i in range(changes)]

    def visible(principal: str, user: uuid.UUID, location: uuid.UUID) -> bool:
        return {"admin": True, "rider": user == RIDER_B, "operator": location == here}[principal]

    gateways = []
    for n in range(2):
        gateway = servers.gateway(url, 1, logs, f"live-proof-{n + 1}")
        gateway.env.update(SETTINGS)
        gateways.append(gateway)
    problems: list[str] = []
    try:
        for gateway in gateways:
            gateway.start()
        per_socket = subscriptions // sockets
        principals = list(tokens)
        opened = [
            await _open(
                gateways[n % 2].port,
                tokens[principals[n // 2 % 3]],
                principals[n // 2 % 3],
                per_socket,
            )
            for n in range(sockets)
        ]
        await asyncio.sleep(1)  # every subscription registered with its process's feed
        statements_before = [loadgen.statements(g.port) or 0.0 for g in gateways]
        cpu_before = _cpu(gateways)
        bus = create_update_bus(engine)
        writer = RequestScope.open(
            Principal(Role.ADMIN, "bench"),
            engine,
            CursorCodec(b"b" * 32),
            bus,
            limits=WriteLimits(max_open_sessions=0),
        )
        made: list[tuple[str, uuid.UUID, uuid.UUID]] = []
        async with AsyncExitStack() as stack:
            devices = {
                location: await stack.enter_async_context(
                    bench_devices(engine, sum(1 for _, at in plan if at == location), location)
                )
                for location in (here, there)
            }
            started = time.perf_counter()
            for user, location in plan:
                record = await start_session(
                    writer, device_id=devices[location].pop(), user_id=user
                )
                made.append((str(record.id), user, location))
            wanted = {
                principal: [
                    [
                        session_id
                        for session_id, user, location in made
                        if visible(principal, user, location) and (op % 2 == 0 or user == RIDER_B)
                    ]
                    for op in range(per_socket)
                ]
                for principal in principals
            }
            expected = sum(len(w) for s in opened for w in wanted[s.principal])
            last, seen = time.perf_counter(), -1
            while sum(s.count for s in opened) < expected and time.perf_counter() - last < 30:
                await asyncio.sleep(0.2)
                if (now := sum(s.count for s in opened)) != seen:
                    last, seen = time.perf_counter(), now
            seconds = time.perf_counter() - started
            await asyncio.sleep(1)  # nothing more arrives
            cpu = _cpu(gateways) - cpu_before
            statements = [
                (loadgen.statements(g.port) or 0.0) - before
                for g, before in zip(gateways, statements_before, strict=True)
            ]
        await bus.stop()
        delivered = sum(s.count for s in opened)
        wrong = [
            f"{s.principal} socket {n}, subscription {op}"
            for n, s in enumerate(opened)
            for op in range(per_socket)
            if s.updates.get(str(op), []) != wanted[s.principal][op]
        ]
        if wrong:
            problems.append(f"{len(wrong)} subscriptions got other changes, e.g. {wrong[0]}")
        others = [m for s in opened for m in s.other]
        if others:
            problems.append(f"{len(others)} messages besides updates, e.g. {others[0]}")
        for n, spent in enumerate(statements):
            if spent > changes + 2:
                problems.append(f"process {n + 1} ran {spent:.0f} statements for {changes} changes")
        for s in opened:
            s.reader.cancel()
            await s.connection.close()
    finally:
        for gateway in gateways:
            gateway.stop()
        await engine.dispose()
    result = {
        "processes": 2,
        "sockets": sockets,
        "subscriptions": per_socket * sockets,
        "changes": changes,
        "deliveries_expected": expected,
        "deliveries": delivered,
        "seconds_to_last_delivery": round(seconds, 1),
        "statements_per_process": [int(s) for s in statements],
        "cpu_ms_per_delivery": round(cpu * 1000 / delivered, 3) if delivered else None,
        "problems": problems,
    }
    log(f"live proof: {json.dumps(result)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--sockets", type=int, default=40)
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(
        prove(args.database_url, logs, args.subscriptions, args.sockets, args.changes)
    )
    (RESULTS / "live-proof.json").write_text(json.dumps(result, indent=2))
    raise SystemExit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
