"""The numbered feed of session changes: written inside each write, read in order by live updates.

Numbers come from the table's key, allocated when a row is inserted, so on PostgreSQL a
transaction may commit a lower number after a higher one is already visible. A reader
therefore also asks again, for a while, for the numbers it skipped (``ChangeCursor``).
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.database import fetch_rows, write_transaction
from storage.models import Session, SessionChange
from storage.queries import SESSION_COLUMNS, session_aggregates
from storage.records import SessionRow

# How long a skipped number is asked for again: longer than any write transaction lasts
# between recording its change and committing.
GAP_SECONDS = 10.0
# How many skipped numbers are asked for again at most: the newest, which are the ones
# transactions still in flight can hold (a jump over numbers long gone, such as those of
# rolled-back transactions before a restart, is not a gap worth asking about).
MAX_GAPS = 1000


async def record_change(connection: AsyncConnection, session_id: uuid.UUID) -> None:
    """Number a change to the session, inside the writing transaction."""
    await connection.execute(
        insert(SessionChange).values(session_id=session_id, changed_at=datetime.now(UTC))
    )


async def latest_change(engine: AsyncEngine) -> int:
    """The number of the newest committed change (0 when there is none)."""
    rows = await fetch_rows(engine, select(func.max(SessionChange.id)))
    return int(rows[0][0] or 0)


async def prune_changes(engine: AsyncEngine, retention: timedelta) -> None:
    """Forget the changes older than ``retention``."""
    cutoff = datetime.now(UTC) - retention
    async with write_transaction(engine) as connection:
        await connection.execute(delete(SessionChange).where(SessionChange.changed_at < cutoff))


@dataclass(slots=True)
class ChangeCursor:
    """Where a reader is in the feed: the highest number read, and the gaps below it."""

    position: int
    gaps: dict[int, float] = field(default_factory=dict)  # number -> when first missed

    def advance(self, numbers: Sequence[int]) -> None:
        """Take note of the numbers just read; remember those skipped on the way."""
        now = time.monotonic()
        for number in numbers:
            self.gaps.pop(number, None)
        top = max(numbers, default=self.position)
        seen = set(numbers)
        for missing in range(max(self.position + 1, top - MAX_GAPS), top):
            if missing not in seen:
                self.gaps[missing] = now
        self.position = max(self.position, top)
        for number, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS or number < top - MAX_GAPS:
                del self.gaps[number]  # its transaction rolled back: the number stays unused


# Where the sessions table's version column sits in a change's values.
VERSION = [column.name for column in SESSION_COLUMNS].index("version")


def session_row(values: Sequence[Any]) -> SessionRow:
    """The ``SessionRow`` of a change's values (the table's columns, then its aggregates).

    Its timestamps are aware UTC values (as ``TZDateTime`` reads them), which every
    printer of a row takes as well as stored naive ones.
    """
    return SessionRow._make(values)


async def read_changes(engine: AsyncEngine, cursor: ChangeCursor) -> list[tuple[int, Any]]:
    """The changes after the cursor (and in its gaps), in order, each with its session's row.

    One statement, whatever the number of changes; the row is the session as it is now
    (None if it is gone): its columns in ``SESSION_COLUMNS`` order, then its events and
    auxiliary devices (``session_aggregates``), so that ``session_row`` makes the whole
    ``SessionRow`` a selection prints without another statement.
    """
    after = SessionChange.id > cursor.position
    wanted = or_(after, SessionChange.id.in_(sorted(cursor.gaps))) if cursor.gaps else after
    aggregates = session_aggregates(engine.dialect.name, Session.id)
    statement = (
        select(SessionChange.id, SessionChange.session_id, *SESSION_COLUMNS, *aggregates)
        .outerjoin(Session, Session.id == SessionChange.session_id)
        .where(wanted)
        .order_by(SessionChange.id)
        .limit(1000)
    )
    rows = await fetch_rows(engine, statement)
    return [(row[0], row[2:] if row[2] is not None else None) for row in rows]
