"""A few thousand ended sessions of one rider, for page-size and query-plan tests.

Written into a fresh database of its own, so the shared dataset's answers stay untouched.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import AuxiliaryDevice, Device, Fleet, Location, Session, SessionEvent

RIDER = uuid.UUID("00000000-0000-4000-8000-0000000b0001")
LOCATION = uuid.UUID("00000000-0000-4000-8000-0000000b0011")
FLEET = uuid.UUID("00000000-0000-4000-8000-0000000b0021")
START = datetime(2024, 1, 1, tzinfo=UTC)
DEVICES = 20


def _id(kind: int, n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-{8000 + kind:04d}-{n:012d}")


def _devices() -> list[dict[str, Any]]:
    rows = []
    for n in range(DEVICES):
        rows.append(
            {
                "id": _id(1, n),
                "kind": "locker",
                "name": f"bulk locker {n}",
                "location_id": LOCATION,
                "fleet_id": None,
                "created_at": START,
            }
        )
        rows.append(
            {
                "id": _id(2, n),
                "kind": "e_bike",
                "name": f"bulk bike {n}",
                "location_id": None,
                "fleet_id": FLEET,
                "created_at": START,
            }
        )
    return rows  # fmt: skip


def _session(n: int) -> dict[str, Any]:
    parking = n % 2 == 0
    start = START + timedelta(minutes=30 * n)
    end = start + timedelta(minutes=20)
    return {
        "id": _id(3, n), "kind": "parking" if parking else "rental", "status": "ended",
        "user_id": RIDER, "access_key_id": None, "created_at": start, "updated_at": end,
        "booked_time": None, "booked_until_time": None, "start_time": start, "end_time": end,
        "reference_time": end, "fee_minor": 100 + n % 400, "fee_currency": "EUR",
        "payment_id": _id(4, n), "payment_status": "PAID", "rating": None, "rating_comment": None,
        "storage_location_id": LOCATION if parking else None,
        "storage_device_id": _id(1, n % DEVICES) if parking else None,
        "travel_start_location_id": None if parking else LOCATION,
        "travel_end_location_id": None,
        "rental_device_id": None if parking else _id(2, n % DEVICES),
        "rental_fleet_id": None if parking else FLEET,
        "seconds_active": None if parking else 1200, "seconds_paused": None if parking else 0,
        "battery_used": None if parking else 3.5, "distance_travelled": None if parking else 900.0,
    }  # fmt: skip


async def insert_history(engine: AsyncEngine, count: int) -> None:
    """Insert ``count`` ended sessions of ``RIDER`` with events and auxiliary devices."""
    sessions = [_session(n) for n in range(count)]
    events = [
        {"session_id": s["id"], "name": name, "timestamp": s[column]}
        for s in sessions
        for name, column in (("start", "start_time"), ("end", "end_time"))
    ]
    auxiliary = [
        {"session_id": s["id"], "device_id": _id(1, (n + 1) % DEVICES)}
        for n, s in enumerate(sessions)
        if s["kind"] == "parking" and n % 4 == 0
    ]
    async with engine.begin() as connection:
        await connection.execute(
            insert(Location),
            [{"id": LOCATION, "name": "Bulk", "time_zone": "UTC", "created_at": START}],
        )
        await connection.execute(
            insert(Fleet), [{"id": FLEET, "name": "Bulk", "created_at": START}]
        )
        await connection.execute(insert(Device), _devices())
        await connection.execute(insert(Session), sessions)
        await connection.execute(insert(SessionEvent), events)
        await connection.execute(insert(AuxiliaryDevice), auxiliary)
