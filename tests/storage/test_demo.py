"""The demo-data generator: repeatable, true to the schema's rules, and never seeding twice.

Every test runs on a fresh SQLite file and on a fresh PostgreSQL database on
127.0.0.1:5432, both created (and removed) by this module's own fixtures. PostgreSQL being
unreachable fails the tests; it is never skipped.
"""

import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine
from storage.demo import NOW, AlreadySeeded, SeedSummary, count_sessions, seed
from storage.enums import (
    PARKING_DEVICE_KINDS,
    DeviceKind,
    EventName,
    PaymentStatus,
    SessionKind,
    SessionStatus,
)
from storage.migrate import upgrade
from storage.models import AuxiliaryDevice, Device, Fleet, Location, Session, SessionEvent

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
SESSIONS = 2_000
SEED = 11
TABLES: dict[str, Any] = {
    "locations": Location,
    "fleets": Fleet,
    "devices": Device,
    "sessions": Session,
    "session_events": SessionEvent,
    "session_auxiliary_devices": AuxiliaryDevice,
}


@dataclass
class Seeded:
    """A database holding one batch of ``SESSIONS`` demo sessions seeded with ``SEED``."""

    kind: str
    engine: AsyncEngine
    summary: SeedSummary


class Databases:
    """Makes fresh migrated databases of either kind, and removes them all at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.engines: list[AsyncEngine] = []
        self.postgres_names: list[str] = []
        self.seeded: dict[str, Seeded] = {}

    async def new(self, kind: str) -> AsyncEngine:
        """A new, empty, migrated database of ``kind``."""
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{self.directory / f'demo-{len(self.engines)}.db'}"
        else:
            name = f"test_demo_{uuid.uuid4().hex[:12]}"
            connection = await _admin_connection()
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()
            self.postgres_names.append(name)
            base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
            url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        engine = create_engine(url)
        self.engines.append(engine)
        await upgrade(engine)
        return engine

    async def seeded_batch(self, kind: str) -> Seeded:
        """The shared database of ``kind`` with the standard batch, seeded on first use."""
        if kind not in self.seeded:
            engine = await self.new(kind)
            summary = await seed(engine, SESSIONS, seed=SEED, progress=False)
            self.seeded[kind] = Seeded(kind, engine, summary)
        return self.seeded[kind]

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()
        if self.postgres_names:
            connection = await _admin_connection()
            try:
                for name in self.postgres_names:
                    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}. "
            "Start it — the demo-data tests never skip PostgreSQL.",
            pytrace=False,
        )


@pytest_asyncio.fixture(scope="module")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Databases]:
    """The module's database maker; every database it made is dropped afterwards."""
    maker = Databases(tmp_path_factory.mktemp("demo"))
    try:
        yield maker
    finally:
        await maker.close()


@pytest_asyncio.fixture(params=BACKENDS)
async def seeded(request: pytest.FixtureRequest, databases: Databases) -> Seeded:
    """The standard batch on each backend (shared: tests must not change it)."""
    return await databases.seeded_batch(request.param)


@pytest.fixture(params=BACKENDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each backend's name, for tests that make their own databases."""
    return str(request.param)


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            name: (await connection.execute(select(func.count()).select_from(model))).scalar_one()
            for name, model in TABLES.items()
        }


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every demo row, read through the models, in primary-key order."""
    async with engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in await connection.execute(
                    select(model.__table__).order_by(*model.__table__.primary_key.columns)
                )
            ]
            for name, model in TABLES.items()
        }


async def load(engine: AsyncEngine) -> tuple[list[Any], dict[uuid.UUID, list[Any]]]:
    """The sessions and, per session, their events in the order they were written."""
    async with engine.connect() as connection:
        sessions = list((await connection.execute(select(Session))).all())
        events = (await connection.execute(select(SessionEvent).order_by(SessionEvent.id))).all()
    by_session: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for event in events:
        by_session[event.session_id].append(event)
    return sessions, by_session


@pytest.mark.asyncio
async def test_the_summary_counts_what_was_written(seeded: Seeded) -> None:
    counts = await table_counts(seeded.engine)
    summary = seeded.summary
    assert summary.sessions == SESSIONS == counts["sessions"]
    assert await count_sessions(seeded.engine) == SESSIONS
    assert summary.locations == counts["locations"] >= 8
    assert summary.fleets == counts["fleets"] >= 3
    assert summary.devices == counts["devices"] >= 30
    assert summary.events == counts["session_events"] > SESSIONS
    assert 0 < counts["session_auxiliary_devices"] < SESSIONS * 0.06
    assert summary.seconds > 0


@pytest.mark.asyncio
async def test_every_status_kind_device_kind_and_payment_status_appears(seeded: Seeded) -> None:
    async with seeded.engine.connect() as connection:

        async def distinct(column: Any) -> set[Any]:
            return set((await connection.execute(select(column).distinct())).scalars())

        assert await distinct(Session.status) == {status.value for status in SessionStatus}
        assert await distinct(Session.kind) == {kind.value for kind in SessionKind}
        assert await distinct(Device.kind) == {kind.value for kind in DeviceKind}
        assert await distinct(Session.payment_status) == {s.value for s in PaymentStatus} | {None}
        assert len(await distinct(Location.time_zone)) >= 5
        assert {"EUR", "USD", "GBP", "JPY", None} <= await distinct(Session.fee_currency)
        assert await distinct(Session.rating) == {1, 2, 3, 4, 5, None}
        kinds: dict[str, int] = {
            kind: count
            for kind, count in await connection.execute(
                select(Session.kind, func.count()).group_by(Session.kind)
            )
        }
        statuses: dict[str, int] = {
            status: count
            for status, count in await connection.execute(
                select(Session.status, func.count()).group_by(Session.status)
            )
        }
    assert 0.55 < kinds["parking"] / SESSIONS < 0.65
    assert statuses["ended"] > 0.9 * SESSIONS


@pytest.mark.asyncio
async def test_events_agree_with_each_session_status(seeded: Seeded) -> None:
    sessions, events = await load(seeded.engine)
    book, start, pause, resume, end = (e.value for e in EventName)
    for session in sessions:
        steps = [(event.name, event.timestamp) for event in events.get(session.id, [])]
        names = [name for name, _ in steps]
        times = [moment for _, moment in steps]
        assert times == sorted(times), session.id
        assert session.updated_at == (times[-1] if times else session.created_at)
        assert (book in names) == (session.booked_time is not None)
        assert (start in names) == (session.start_time is not None)
        if session.booked_time is not None:
            assert steps[0] == (book, session.booked_time)
        if session.start_time is not None:
            assert (start, session.start_time) in steps
        pauses = [name for name in names if name in (pause, resume)]
        assert pauses == [pause, resume] * (len(pauses) // 2)
        assert not pauses or session.kind == SessionKind.RENTAL
        if session.status == SessionStatus.PENDING:
            assert steps == []
        elif session.status == SessionStatus.BOOKED:
            assert steps == [(book, session.booked_time)]
        elif session.status == SessionStatus.ACTIVE:
            assert (start, session.start_time) in steps
            assert end not in names
        else:
            assert steps[-1] == (end, session.end_time)
            assert names.count(end) == 1


@pytest.mark.asyncio
async def test_sessions_follow_the_rules_of_the_schema(seeded: Seeded) -> None:
    sessions, _ = await load(seeded.engine)
    async with seeded.engine.connect() as connection:
        devices = {device.id: device for device in (await connection.execute(select(Device))).all()}
    timelines: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for session in sessions:
        times = [
            session.created_at,
            session.updated_at,
            session.booked_time,
            session.start_time,
            session.end_time,
            session.reference_time,
        ]
        for moment in times:
            if moment is not None:
                assert moment.tzinfo is UTC and moment.microsecond == 0
                assert session.created_at <= moment <= NOW
        if session.booked_until_time is not None:
            assert session.booked_time is not None
            assert session.booked_until_time >= session.booked_time
        if session.status == SessionStatus.ENDED and session.fee_minor is not None:
            assert session.fee_minor >= 0 and session.fee_currency in {"EUR", "USD", "GBP", "JPY"}
        else:
            assert session.fee_currency is None
        assert (session.payment_id is None) == (session.payment_status is None)
        assert session.payment_id is None or session.fee_minor is not None
        assert session.rating_comment is None or session.rating is not None
        if session.kind == SessionKind.PARKING:
            device = devices[session.storage_device_id]
            assert DeviceKind(device.kind) in PARKING_DEVICE_KINDS
            assert device.location_id == session.storage_location_id
            assert session.rental_device_id is None and session.travel_start_location_id is None
            assert session.travel_end_location_id is None and session.seconds_active is None
        else:
            device = devices[session.rental_device_id]
            assert device.fleet_id == session.rental_fleet_id and device.location_id is None
            if session.status == SessionStatus.ENDED:
                assert session.seconds_active is not None and session.seconds_paused is not None
                if session.start_time is not None:
                    assert session.end_time is not None
                    ridden = (session.end_time - session.start_time).total_seconds()
                    assert session.seconds_active + session.seconds_paused == ridden
            else:
                assert session.travel_end_location_id is None
        if session.status != SessionStatus.PENDING:
            timelines[device.id].append(session)
    for timeline in timelines.values():
        timeline.sort(key=lambda session: session.created_at)
        for earlier, later in pairwise(timeline):
            # A device is used by one session at a time; only its latest may still hold it.
            assert earlier.status == SessionStatus.ENDED
            assert earlier.end_time <= later.created_at


@pytest.mark.asyncio
async def test_values_are_stored_the_way_sqlalchemy_stores_them(seeded: Seeded) -> None:
    async with seeded.engine.connect() as connection:
        session = (
            await connection.execute(
                select(Session).where(Session.status == SessionStatus.ENDED).limit(1)
            )
        ).one()
        # Equality on bound UUIDs and timestamps finds the row: the formats match.
        found = await connection.execute(
            select(Session.id).where(
                Session.id == session.id,
                Session.reference_time == session.end_time,
                Session.user_id == session.user_id,
            )
        )
        assert found.scalar_one() == session.id
        if seeded.kind == "sqlite":
            # A row written by SQLAlchemy is stored as the same text as the seeded one.
            await connection.execute(
                insert(SessionEvent).values(
                    session_id=session.id, name=EventName.END, timestamp=session.end_time
                )
            )
            raw = (
                await connection.execute(
                    text(
                        "SELECT session_id, timestamp FROM session_events "
                        "WHERE session_id = :id AND name = 'end' ORDER BY id"
                    ),
                    {"id": session.id.hex},
                )
            ).all()
            assert len(raw) == 2 and raw[0] == raw[1]
        await connection.rollback()


@pytest.mark.asyncio
async def test_the_same_seed_gives_the_same_rows(seeded: Seeded, databases: Databases) -> None:
    again = await databases.new(seeded.kind)
    summary = await seed(again, SESSIONS, seed=SEED, progress=False)
    assert (summary.locations, summary.devices, summary.events) == (
        seeded.summary.locations,
        seeded.summary.devices,
        seeded.summary.events,
    )
    assert await dump(again) == await dump(seeded.engine)

    other = await databases.new(seeded.kind)
    await seed(other, 100, seed=SEED + 1, progress=False)
    async with other.connect() as connection:
        other_ids = set((await connection.execute(select(Session.id))).scalars())
    assert not other_ids & {row[0] for row in (await dump(seeded.engine))["sessions"]}


@pytest.mark.asyncio
async def test_both_databases_hold_the_same_rows(databases: Databases) -> None:
    sqlite = await databases.seeded_batch("sqlite")
    postgresql = await databases.seeded_batch("postgresql")
    assert await dump(sqlite.engine) == await dump(postgresql.engine)


@pytest.mark.asyncio
async def test_seeding_again_without_add_refuses_and_writes_nothing(seeded: Seeded) -> None:
    before = await table_counts(seeded.engine)
    with pytest.raises(AlreadySeeded, match=rf"{SESSIONS} sessions.*add=True.*--add"):
        await seed(seeded.engine, 10, seed=SEED, progress=False)
    with pytest.raises(ValueError, match="at least 1"):
        await seed(seeded.engine, 0, add=True, progress=False)
    assert await table_counts(seeded.engine) == before


@pytest.mark.asyncio
async def test_add_writes_a_new_distinct_batch(kind: str, databases: Databases) -> None:
    engine = await databases.new(kind)
    first = await seed(engine, 300, seed=5, progress=False)
    second = await seed(engine, 200, seed=5, add=True, progress=False)
    third = await seed(engine, 50, seed=5, add=True, progress=False)
    assert (first.sessions, second.sessions, third.sessions) == (300, 200, 50)
    assert await count_sessions(engine) == 550
    counts = await table_counts(engine)
    assert counts["devices"] == first.devices + second.devices + third.devices
    assert counts["session_events"] == first.events + second.events + third.events
    async with engine.connect() as connection:
        names = (await connection.execute(select(Location.name))).scalars().all()
        fleets = (await connection.execute(select(Fleet.name))).scalars().all()
        open_sessions = (
            await connection.execute(
                select(func.count()).where(
                    Session.status.in_([SessionStatus.BOOKED, SessionStatus.ACTIVE])
                )
            )
        ).scalar_one()
    assert len(names) == len(set(names)) and len(fleets) == len(set(fleets))
    assert open_sessions >= 12  # each batch brings booked and active sessions of both kinds


async def test_every_location_and_fleet_has_a_tariff_in_its_currency(seeded: Seeded) -> None:
    from sqlalchemy import select

    from storage.models import Fleet, Location, Tariff

    async with seeded.engine.connect() as connection:
        tariffs = (await connection.execute(select(Tariff))).all()
        locations = set((await connection.execute(select(Location.id))).scalars())
        fleets = set((await connection.execute(select(Fleet.id))).scalars())
    assert {t.location_id for t in tariffs if t.location_id} == locations
    assert {t.fleet_id for t in tariffs if t.fleet_id} == fleets
    assert {t.currency for t in tariffs} <= {"EUR", "GBP", "USD", "JPY"}
    assert all(t.price_per_period > 0 and t.period_minutes > 0 for t in tariffs)
