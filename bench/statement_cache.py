"""What turning asyncpg's statement cache off (DATABASE_POOLER=pgbouncer) costs the gateway.

Serves the frontend list (20 sessions with their details and events) in-process, one
request at a time, in three set-ups over the same freshly seeded PostgreSQL database:

- ``direct``: straight to PostgreSQL, statement cache on (the default);
- ``pooler-mode, direct``: ``DATABASE_POOLER=pgbouncer`` settings but straight to
  PostgreSQL: statement cache off, a request's reads in one transaction;
- ``through PgBouncer``: the same through a real PgBouncer in transaction mode.

Prints CPU milliseconds per request of this process (the gateway and its in-process
client) and wall milliseconds per request, the median of ``--rounds`` rounds.

    .venv/bin/python -m bench.statement_cache --requests 300
"""

import argparse
import asyncio
import statistics
import time
import uuid

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.config import Settings
from resolvers.identity import create_token
from storage.database import create_engine
from storage.demo import seed
from storage.enums import Role
from storage.migrate import upgrade
from tests.pgbouncer import running_pgbouncer, through

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
LIST = """query { sessions(first: 20) { edges { cursor node {
  uuid kind status startTime endTime fee { currency value }
  details { ... on StorageDetails { location { name timeZone } device { kind name } }
            ... on TravelDetails { rentalDevice { name } rentalFleet { name } distanceTravelled } }
  events { name timestamp } } } pageInfo { hasNextPage endCursor } } }"""


async def _measure(settings: Settings, token: str, requests: int) -> tuple[float, float]:
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one() -> None:
                response = await client.post("/graphql", json={"query": LIST}, headers=headers)
                assert "errors" not in response.json(), response.text

            for _ in range(50):  # warm: statements compiled, pool filled
                await one()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                await one()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / requests, wall * 1000 / requests


async def main(requests: int, rounds: int, sessions: int) -> None:
    name = f"sgw_cache_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = create_engine(url)
        await upgrade(engine)
        await seed(engine, sessions, seed=1, progress=False)
        token = await create_token(engine, Role.ADMIN, label="bench")
        await engine.dispose()
        base = {"public_base_url": "http://bench", "pagination_secret": "bench-key-0123456789"}
        with running_pgbouncer(pool_size=4) as port:
            setups = {
                "direct": Settings(database_url=url, **base),
                "pooler-mode, direct": Settings(
                    database_url=url, database_pooler="pgbouncer", database_listen_url=url, **base
                ),
                "through PgBouncer": Settings(
                    database_url=through(url, port),
                    database_pooler="pgbouncer",
                    database_listen_url=url,
                    **base,
                ),
            }
            results: dict[str, list[tuple[float, float]]] = {key: [] for key in setups}
            for _ in range(rounds):
                for key, settings in setups.items():
                    results[key].append(await _measure(settings, token, requests))
        print(f"{requests} sequential requests x {rounds} rounds, median per request:")
        print(f"{'set-up':<22} {'CPU ms':>7} {'wall ms':>8}")
        for key, measured in results.items():
            cpu = statistics.median(m[0] for m in measured)
            wall = statistics.median(m[1] for m in measured)
            print(f"{key:<22} {cpu:7.2f} {wall:8.2f}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=5000)
    options = parser.parse_args()
    asyncio.run(main(options.requests, options.rounds, options.sessions))
