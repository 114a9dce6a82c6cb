"""Invariants under real concurrency: 50 requests at once, through real database connections."""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage.database import create_engine
from storage.models import Session, SessionEvent
from tests.fixtures.dataset import LOC_X, add_device
from tests.graphql.test_mutations import run

CONCURRENCY = 50


async def test_fifty_concurrent_ends_of_one_session_end_it_once(writable):
    engine = create_engine(writable.url)
    try:
        locker = await add_device(engine, "locker", location=LOC_X)
        token = writable.tokens["admin"]
        started = await run(
            writable.client, token, "startSession", f'deviceId: "{locker}", userId: "{locker}"'
        )
        session_id = uuid.UUID(started["uuid"])
        results = await asyncio.gather(
            *(
                run(writable.client, token, "endSession", f'sessionId: "{session_id}"')
                for _ in range(CONCURRENCY)
            )
        )
        outcomes = Counter(r["__typename"] for r in results)
        assert outcomes == {"Session": 1, "OperationError": CONCURRENCY - 1}
        codes = {r["code"] for r in results if r["__typename"] == "OperationError"}
        assert codes <= {"CONFLICT", "INVALID_TRANSITION"}
        async with engine.connect() as connection:
            ends = await connection.scalar(
                select(func.count())
                .select_from(SessionEvent)
                .where(SessionEvent.session_id == session_id, SessionEvent.name == "end")
            )
        assert ends == 1
    finally:
        await engine.dispose()


async def test_fifty_concurrent_bookings_of_one_device_book_it_once(writable):
    engine = create_engine(writable.url)
    try:
        dock = await add_device(engine, "bike_dock", location=LOC_X)
        until = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
        results = await asyncio.gather(
            *(
                run(
                    writable.client,
                    writable.tokens["admin"],
                    "bookSession",
                    f'deviceId: "{dock}", until: "{until}", userId: "{dock}"',
                )
                for _ in range(CONCURRENCY)
            )
        )
        outcomes = Counter(r["__typename"] for r in results)
        assert outcomes == {"Session": 1, "OperationError": CONCURRENCY - 1}
        assert {r["code"] for r in results if "code" in r} == {"CONFLICT"}
        async with engine.connect() as connection:
            open_sessions = await connection.scalar(
                select(func.count())
                .select_from(Session)
                .where(Session.storage_device_id == dock, Session.status.in_(["booked", "active"]))
            )
        assert open_sessions == 1
    finally:
        await engine.dispose()
