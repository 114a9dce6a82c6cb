"""The counts behind the write quotas, and the lock that makes count-then-write safe.

On PostgreSQL two transactions could both count a rider's open sessions before either
inserts; ``lock_rider`` serializes the writes of one rider for the rest of the
transaction (an advisory lock, released at commit or rollback). SQLite has one writer at
a time already.
"""

import uuid
from datetime import datetime

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import SessionStatus
from storage.models import Session, SessionEvent


async def lock_rider(connection: AsyncConnection, user_id: uuid.UUID) -> None:
    """Hold the rider's write lock until the transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(user_id.bytes[:8], "big", signed=True)
        await connection.execute(select(func.pg_advisory_xact_lock(key)))


async def count_open_sessions(
    connection: AsyncConnection, user_id: uuid.UUID, now: datetime
) -> int:
    """The rider's sessions that are not ended, bookings that ran out not included."""
    statement = select(func.count()).where(
        Session.user_id == user_id,
        # A literal, as in the partial index ix_sessions_user_open, so the planner uses it.
        Session.status != literal_column(f"'{SessionStatus.ENDED.value}'"),
        or_(
            Session.status != SessionStatus.BOOKED.value,
            Session.booked_until_time.is_(None),
            Session.booked_until_time >= now,
        ),
    )
    return int((await connection.execute(statement)).scalar_one())


async def count_events(connection: AsyncConnection, session_id: uuid.UUID) -> int:
    """How many lifecycle events a session has."""
    statement = select(func.count()).where(SessionEvent.session_id == session_id)
    return int((await connection.execute(statement)).scalar_one())
