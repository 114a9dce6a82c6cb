"""Live update fan-out: the gateway's CPU per change and delivery latency with many subscribers.

    .venv/bin/python -m bench.live_fanout [--subscriptions 1000] [--sockets 40] [--changes 100]

Starts ``session-gateway serve --workers 2`` over the live benchmark's database
(``sgw_live_bench``, see ``bench.live_writers``), opens the sockets (three principals:
an admin, a rider, an operator of one location) with the subscriptions spread over them,
then makes the changes straight in the database through the gateway's write path (so
the gateway's own CPU is the fan-out's alone), a few per second. It reports the
gateway's CPU seconds per change, once with no subscriber and once with all of them,
and the delay from each commit to its arrival at every subscriber that may see it.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from bench.tools import ensure_python_packages

SUBSCRIBE = (
    "subscription { sessionUpdated { uuid status events { name } "
    "details { ... on StorageDetails { location { name } device { name } } } } }"
)
RESULTS = Path(__file__).parent / "results" / "live-fanout.json"


async def _socket(port: int, token: str, subscriptions: int, arrivals: list[tuple]) -> Any:
    from websockets.asyncio.client import connect

    socket = await connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"])
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await socket.send(json.dumps(init))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    for n in range(subscriptions):
        message = {"id": str(n), "type": "subscribe", "payload": {"query": SUBSCRIBE}}
        await socket.send(json.dumps(message))

    async def read() -> None:
        async for raw in socket:
            message = json.loads(raw)
            if message.get("type") == "next" and message["payload"].get("data"):
                update = message["payload"]["data"]["sessionUpdated"]
                arrivals.append((update["uuid"], update["status"], time.perf_counter()))

    return socket, asyncio.create_task(read())


async def _changes(url: str, count: int, per_second: float) -> dict[tuple[str, str], float]:
    """Start and end sessions on lockers of their own; the commit time of each change."""
    from bench.live_writers import bench_devices
    from resolvers.commands import end_session, start_session
    from resolvers.context import RequestScope
    from resolvers.cursors import CursorCodec
    from resolvers.scope import Principal
    from storage.database import create_engine
    from storage.enums import Role
    from storage.updates import create_update_bus

    engine = create_engine(url)
    bus = create_update_bus(engine)
    scope = RequestScope.open(Principal(Role.ADMIN, "bench"), engine, CursorCodec(b"b" * 32), bus)
    committed: dict[tuple[str, str], float] = {}
    async with bench_devices(engine, count // 2 + 1) as devices:
        open_ids: list[uuid.UUID] = []
        for n in range(count):
            if n % 2 == 0:
                record = await start_session(scope, device_id=devices[n // 2], user_id=RIDER)
                open_ids.append(record.id)
            else:
                record = await end_session(scope, open_ids.pop())
            committed[(str(record.id), record.status.value.upper())] = time.perf_counter()
            await asyncio.sleep(1 / per_second)
        await asyncio.sleep(2)  # the last deliveries
    await engine.dispose()
    return committed


RIDER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _cpu(server: Any) -> float:
    total = 0.0
    for process in server.workers():
        times = process.cpu_times()
        total += times.user + times.system
    return total


async def _phase(
    server: Any, url: str, changes: int, per_second: float, arrivals: list[tuple]
) -> tuple[float, dict]:
    """Make the changes; the gateway's CPU per change, counted until the last delivery."""
    before = _cpu(server)
    committed = await _changes(url, changes, per_second)
    while True:  # until every delivery has arrived (3 s without one)
        count = len(arrivals)
        await asyncio.sleep(3)
        if len(arrivals) == count:
            break
    return (_cpu(server) - before) / changes, committed


async def main() -> None:
    ensure_python_packages()
    from bench.datasets import cli
    from bench.live_writers import DEFAULT_URL, prepare_database
    from bench.servers import gateway

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=40)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--per-second", type=float, default=5.0)
    args = parser.parse_args()
    url = args.database_url
    await prepare_database(url, 20_000)
    tokens = [
        cli(url, "token", "create", "--role", "admin", capture=True),
        cli(url, "token", "create", "--role", "user", "--user-id", str(RIDER), capture=True),
    ]
    server = gateway(url, 2, Path(__file__).parent / "results" / "logs", "live-fanout")
    server.env.update(WS_MAX_SOCKETS_PER_PRINCIPAL="0", WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL="0")
    with server:
        server.start()
        arrivals: list[tuple] = []
        idle_cpu, _ = await _phase(server, url, args.changes, args.per_second, arrivals)
        per_socket = args.subscriptions // args.sockets
        sockets = [
            await _socket(server.port, tokens[n % len(tokens)], per_socket, arrivals)
            for n in range(args.sockets)
        ]
        await asyncio.sleep(3)  # every subscription registered
        busy_cpu, committed = await _phase(server, url, args.changes, args.per_second, arrivals)
        for socket, reader in sockets:
            reader.cancel()
            await socket.close()
    delays = sorted(
        (at - committed[(uuid_, status)]) * 1000
        for uuid_, status, at in arrivals
        if (uuid_, status) in committed
    )
    result = {
        "workers": 2,
        "sockets": args.sockets,
        "subscriptions": per_socket * args.sockets,
        "changes": args.changes,
        "deliveries_expected": args.changes * per_socket * args.sockets,
        "deliveries": len(delays),
        "cpu_ms_per_change_without_subscribers": round(idle_cpu * 1000, 1),
        "cpu_ms_per_change_with_subscribers": round(busy_cpu * 1000, 1),
        "delivery_p50_ms": round(statistics.median(delays), 1),
        "delivery_p99_ms": round(delays[int(len(delays) * 0.99)], 1),
    }
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
