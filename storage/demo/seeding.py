"""Seeding a database with one batch of demo data, in one transaction."""

import asyncio
import random
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tqdm import tqdm

from storage.demo.catalog import Catalog, Existing
from storage.demo.rows import (
    AUXILIARY_COLUMNS,
    DEVICE_COLUMNS,
    EVENT_COLUMNS,
    FLEET_COLUMNS,
    LOCATION_COLUMNS,
    SESSION_COLUMNS,
    Chunk,
)
from storage.demo.timelines import SessionTimelines
from storage.demo.writers import open_writer
from storage.models import Device, Fleet, Location, Session, Tariff


class AlreadySeeded(Exception):
    """The database already holds sessions and the caller did not ask to add more."""

    def __init__(self, sessions: int) -> None:
        super().__init__(
            f"the database already holds {sessions} sessions; pass add=True "
            "(CLI: --add) to add another batch of demo data"
        )
        self.sessions = sessions


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What one call of ``seed`` wrote, and how long it took."""

    locations: int
    fleets: int
    devices: int
    sessions: int
    events: int
    seconds: float


async def count_sessions(engine: AsyncEngine) -> int:
    """How many sessions the database holds."""
    async with engine.connect() as connection:
        return await _count(connection, Session)


async def seed(
    engine: AsyncEngine,
    sessions: int,
    seed: int = 1,
    add: bool = False,
    progress: bool = True,
) -> SeedSummary:
    """Write ``sessions`` demo sessions with their locations, fleets, devices and events.

    Refuses with ``AlreadySeeded``, before writing anything, when the database already holds
    sessions, unless ``add`` is true: then a new batch with its own locations, fleets,
    devices and users is added, its ids derived from ``seed`` and the existing count.
    """
    if sessions < 1:
        raise ValueError(f"sessions must be at least 1, not {sessions}")
    started = time.perf_counter()
    async with engine.begin() as connection:
        existing = await _count(connection, Session)
        if existing and not add:
            raise AlreadySeeded(existing)
        existing_rows = Existing(
            location_names=set((await connection.execute(select(Location.name))).scalars()),
            fleet_names=set((await connection.execute(select(Fleet.name))).scalars()),
            devices=await _count(connection, Device),
        )
        writer = await open_writer(connection)
        try:
            # A first batch is ``Random(seed)``; later batches get their own, distinct stream.
            rng = random.Random(seed if existing == 0 else f"demo:{seed}:{existing}")
            catalog = Catalog(rng, sessions, existing_rows, writer.time_format)
            await writer.insert("locations", LOCATION_COLUMNS, catalog.location_rows)
            await writer.insert("fleets", FLEET_COLUMNS, catalog.fleet_rows)
            await connection.execute(insert(Tariff), catalog.tariff_rows())
            await writer.insert("devices", DEVICE_COLUMNS, catalog.device_rows)
            events = 0
            with tqdm(
                total=sessions,
                desc="demo sessions",
                unit=" sessions",
                unit_scale=True,
                file=sys.stderr,
                disable=not progress,
            ) as bar:
                async with aclosing(_prefetch(SessionTimelines(catalog).chunks())) as chunks:
                    async for chunk in chunks:
                        await writer.insert("sessions", SESSION_COLUMNS, chunk.sessions)
                        await writer.insert("session_events", EVENT_COLUMNS, chunk.events)
                        await writer.insert(
                            "session_auxiliary_devices",
                            AUXILIARY_COLUMNS,
                            chunk.auxiliary_devices,
                        )
                        events += len(chunk.events)
                        bar.update(len(chunk.sessions))
        finally:
            await writer.finish()
    # Fresh statistics, or the planner guesses from an empty table until autovacuum runs
    # (a million rows in, it took "ended" to be rare and chose slow plans for minutes).
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("ANALYZE")
    return SeedSummary(
        locations=len(catalog.location_rows),
        fleets=len(catalog.fleet_rows),
        devices=len(catalog.device_rows),
        sessions=sessions,
        events=events,
        seconds=round(time.perf_counter() - started, 3),
    )


async def _count(connection: AsyncConnection, model: type[Any]) -> int:
    result = await connection.execute(select(func.count()).select_from(model))
    return int(result.scalar_one())


async def _prefetch(chunks: Iterator[Chunk]) -> AsyncGenerator[Chunk, None]:
    """Yield the chunks, generating the next one in a thread while the current one is written.

    PostgreSQL does its share of the work in its own process, so generating ahead keeps
    both cores busy. Only one thread at a time ever advances ``chunks``.
    """
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
    try:
        while (chunk := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            yield chunk
    finally:
        if not upcoming.done():
            await asyncio.gather(upcoming, return_exceptions=True)
