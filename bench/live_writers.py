"""Write throughput of concurrent writers with each live update bus: NOTIFY vs Redis.

    .venv/bin/python -m bench.live_writers [--writers 50] [--seconds 10] [--sessions 20000]

Every writer repeats start, then end, of a session on a device of its own through the
gateway's own write path (``resolvers.commands``): each write records its change and,
with ``LIVE_UPDATES=postgres``, NOTIFYs inside its transaction (PostgreSQL then takes a
global lock at commit to keep notifications in commit order), or with ``redis``
publishes after commit. A listener of the mode runs meanwhile, as a gateway's would.

The database is its own (``sgw_live_bench``, made and seeded like the load benchmark's
with ``session-gateway seed``), never the load benchmark's ``sgw_bench``.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.datasets import cli, plain_dsn
from resolvers.commands import end_session, start_session
from resolvers.context import RequestScope
from resolvers.cursors import CursorCodec
from resolvers.scope import Principal
from storage.database import DatabaseOptions, create_engine
from storage.enums import Role
from storage.models import Device, Location, Session
from storage.updates import create_update_bus

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/sgw_live_bench"
REDIS_URL = "redis://127.0.0.1:6379/0"
RESULTS = Path(__file__).parent / "results" / "live-writers.json"


async def prepare_database(url: str, sessions: int) -> None:
    """Create, migrate and seed the live benchmark's database, unless it is there."""
    dsn = plain_dsn(url)
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    cli(url, "migrate")
    connection = await asyncpg.connect(dsn)
    try:
        seeded = await connection.fetchval("SELECT count(*) FROM sessions")
    finally:
        await connection.close()
    if not seeded:
        cli(url, "seed", "--sessions", str(sessions), "--quiet")


@asynccontextmanager
async def bench_devices(
    engine: AsyncEngine, count: int, location: uuid.UUID | None = None
) -> AsyncIterator[list[uuid.UUID]]:
    """Lockers of their own for the writers, at ``location`` (the first one by default);
    removed afterwards with their sessions, so that the database stays as seeded."""
    ids = [uuid.uuid4() for _ in range(count)]
    async with engine.begin() as connection:
        if location is None:
            location = (await connection.execute(select(Location.id).limit(1))).scalar_one()
        await connection.execute(
            insert(Device),
            [
                {
                    "id": i,
                    "kind": "locker",
                    "name": f"bench locker {i.hex[:6]}",
                    "location_id": location,
                    "created_at": datetime.now(UTC),
                }
                for i in ids
            ],
        )
    try:
        yield ids
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(Session).where(Session.storage_device_id.in_(ids)))
            await connection.execute(delete(Device).where(Device.id.in_(ids)))


async def _run_mode(url: str, mode: str, writers: int, seconds: float) -> dict[str, object]:
    options = DatabaseOptions(pool_size=writers + 2, max_overflow=0)
    engine = create_engine(url, options)
    bus = create_update_bus(engine, mode, REDIS_URL, f"sgw-bench-{uuid.uuid4().hex[:8]}:")
    await bus.start()  # the listener a gateway process keeps open
    scope = RequestScope.open(Principal(Role.ADMIN, "bench"), engine, CursorCodec(b"b" * 32), bus)
    latencies: list[float] = []
    measuring = asyncio.Event()
    stop = asyncio.Event()

    async def writer(device: uuid.UUID) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            record = await start_session(scope, device_id=device, user_id=uuid.uuid4())
            if measuring.is_set():
                latencies.append(time.perf_counter() - started)
            started = time.perf_counter()
            await end_session(scope, record.id)
            if measuring.is_set() and not stop.is_set():
                latencies.append(time.perf_counter() - started)

    async with bench_devices(engine, writers) as devices:
        elapsed = await _drive([writer(d) for d in devices], seconds, measuring, stop)
    await bus.stop()
    await engine.dispose()
    return _summary(mode, writers, elapsed, latencies)


LEAN_WRITE = """
UPDATE sessions SET version = version + 1, updated_at = now() WHERE id = $1;
"""


async def _run_lean(url: str, mode: str, writers: int, seconds: float) -> dict[str, object]:
    """The same bus work around the smallest write, on asyncpg alone: the database's side."""
    from redis.asyncio import Redis

    dsn = plain_dsn(url)
    pool = await asyncpg.create_pool(dsn, min_size=writers, max_size=writers)
    redis = Redis.from_url(REDIS_URL)
    listener = await asyncpg.connect(dsn)
    await listener.add_listener("session_updates", lambda *_: None)
    sessions = [r[0] for r in await pool.fetch("SELECT id FROM sessions LIMIT $1", writers)]
    latencies: list[float] = []
    measuring = asyncio.Event()
    stop = asyncio.Event()

    async def writer(session_id: uuid.UUID) -> None:
        async with pool.acquire() as connection:
            while not stop.is_set():
                started = time.perf_counter()
                async with connection.transaction():
                    await connection.execute(LEAN_WRITE, session_id)
                    await connection.execute(
                        "INSERT INTO session_changes (session_id, changed_at) VALUES ($1, now())",
                        session_id,
                    )
                    if mode == "postgres":
                        await connection.execute("SELECT pg_notify('session_updates', '')")
                if mode == "redis":
                    await redis.publish("sgw-bench:session_updates", "")
                if measuring.is_set() and not stop.is_set():
                    latencies.append(time.perf_counter() - started)

    elapsed = await _drive([writer(s) for s in sessions], seconds, measuring, stop)
    await pool.execute("DELETE FROM session_changes")
    await listener.close()
    await pool.close()
    await redis.aclose()
    return _summary(f"{mode} (lean)", writers, elapsed, latencies)


async def _drive(
    writers: list[Coroutine[Any, Any, None]],
    seconds: float,
    measuring: asyncio.Event,
    stop: asyncio.Event,
) -> float:
    """Run the writers: 2 s of warm-up, then ``seconds`` measured; returns the time measured."""
    tasks = [asyncio.create_task(w) for w in writers]
    await asyncio.sleep(2)  # connections opened, statements prepared
    measuring.set()
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - began
    await asyncio.gather(*tasks)
    return elapsed


def _summary(mode: str, writers: int, elapsed: float, latencies: list[float]) -> dict[str, object]:
    ordered = sorted(latencies)
    return {
        "mode": mode,
        "writers": writers,
        "seconds": round(elapsed, 1),
        "writes": len(ordered),
        "writes_per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sessions", type=int, default=20_000)
    args = parser.parse_args()
    await prepare_database(args.database_url, args.sessions)
    results = []
    for run in (_run_mode, _run_lean):
        for mode in ("postgres", "redis"):
            result = await run(args.database_url, mode, args.writers, args.seconds)
            print(json.dumps(result))
            results.append(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
