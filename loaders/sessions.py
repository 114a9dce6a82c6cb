"""Loaders for sessions and what hangs off them: events, auxiliary devices, nested lists.

Loaders that return sessions take ``visible``, the caller's visibility condition, so a
hidden session is never loaded at all; the resolvers decide what that condition is.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.base import BatchLoader, fetch_rows, grouped_in_key_order, in_key_order
from loaders.catalog import device_from_row
from storage.enums import EventName, SessionStatus
from storage.models import AuxiliaryDevice, Device, Session, SessionEvent
from storage.queries import (
    DEVICE_COLUMNS,
    SESSION_ROW_COLUMNS,
    before_position,
    newest_first,
    select_session_rows,
    session_row_columns,
)
from storage.records import DeviceRecord, EventRecord, SessionRow


class SessionByIdLoader(BatchLoader[uuid.UUID, SessionRow | None]):
    """Sessions by id as stored rows with their events, among those the caller may see."""

    def __init__(self, engine: AsyncEngine, visible: ColumnElement[bool]) -> None:
        super().__init__()
        self.engine = engine
        self.visible = visible

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[SessionRow | None]:
        """One SELECT for every session asked for in this tick."""
        statement = select_session_rows(self.engine.dialect.name).where(
            Session.id.in_(keys), self.visible
        )
        rows = await fetch_rows(self.engine, statement)
        return in_key_order(keys, {row[0]: SessionRow._make(row) for row in rows})


class EventsBySessionLoader(BatchLoader[uuid.UUID, list[EventRecord]]):
    """The events of each session, oldest first."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine

    statement = (
        select(SessionEvent.session_id, SessionEvent.name, SessionEvent.timestamp)
        .where(SessionEvent.session_id.in_(bindparam("keys", expanding=True)))
        .order_by(SessionEvent.session_id, SessionEvent.timestamp, SessionEvent.id)
    )

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[EventRecord]]:
        """One SELECT for the events of every session asked for in this tick."""
        rows = await fetch_rows(self.engine, self.statement, {"keys": list(keys)})
        pairs = ((row[0], EventRecord(EventName(row[1]), row[2])) for row in rows)
        return grouped_in_key_order(keys, pairs)


class AuxiliaryDevicesBySessionLoader(BatchLoader[uuid.UUID, list[DeviceRecord]]):
    """The auxiliary devices of each session."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine

    statement = (
        select(AuxiliaryDevice.session_id, *DEVICE_COLUMNS)
        .join(Device, Device.id == AuxiliaryDevice.device_id)
        .where(AuxiliaryDevice.session_id.in_(bindparam("keys", expanding=True)))
        .order_by(AuxiliaryDevice.session_id, Device.id)
    )

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[DeviceRecord]]:
        """One SELECT joining the auxiliary devices of every session asked for."""
        rows = await fetch_rows(self.engine, self.statement, {"keys": list(keys)})
        return grouped_in_key_order(keys, ((row[0], device_from_row(row[1:])) for row in rows))


class OpenSessionByDeviceLoader(BatchLoader[uuid.UUID, SessionRow | None]):
    """The booked or active session of each device, among those the caller may see."""

    def __init__(self, engine: AsyncEngine, visible: ColumnElement[bool]) -> None:
        super().__init__()
        self.engine = engine
        self.visible = visible

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[SessionRow | None]:
        """One SELECT over both device columns; at most one open session per device."""
        open_statuses = (SessionStatus.BOOKED.value, SessionStatus.ACTIVE.value)
        statement = select_session_rows(self.engine.dialect.name).where(
            Session.status.in_(open_statuses),
            (Session.storage_device_id.in_(keys)) | (Session.rental_device_id.in_(keys)),
            self.visible,
        )
        by_device: dict[uuid.UUID, SessionRow] = {}
        for fetched in await fetch_rows(self.engine, statement):
            row = SessionRow._make(fetched)
            by_device[row.storage_device_id or row.rental_device_id] = row  # type: ignore[index]
        return in_key_order(keys, by_device)


class Parent(StrEnum):
    """What a nested session list hangs off."""

    DEVICE = "device"
    LOCATION = "location"
    FLEET = "fleet"


_PARENT_COLUMNS = {
    Parent.DEVICE: (Session.storage_device_id, Session.rental_device_id),
    Parent.LOCATION: (
        Session.storage_location_id,
        Session.travel_start_location_id,
        Session.travel_end_location_id,
    ),
    Parent.FLEET: (Session.rental_fleet_id,),
}


@dataclass(frozen=True, slots=True)
class NestedPageKey:
    """One nested list: the parent, the page size, and where the page starts."""

    parent: Parent
    parent_id: uuid.UUID
    limit: int
    after: tuple[Any, uuid.UUID] | None = None


class SessionsByParentLoader(BatchLoader[NestedPageKey, list[SessionRow]]):
    """The newest sessions of many devices, locations or fleets in one query per batch.

    Each key gets ``limit`` rows at most (callers ask for one more than the page size to
    learn whether a next page exists), ranked per parent with a window function.
    """

    def __init__(self, engine: AsyncEngine, visible: ColumnElement[bool]) -> None:
        super().__init__()
        self.engine = engine
        self.visible = visible

    async def batch_load_fn(self, keys: Sequence[NestedPageKey]) -> list[list[SessionRow]]:
        """One query per (parent kind, page size, start), which is one for a typical page."""
        groups: dict[tuple[Parent, int, Any], list[uuid.UUID]] = {}
        for key in keys:
            groups.setdefault((key.parent, key.limit, key.after), []).append(key.parent_id)
        found: dict[NestedPageKey, list[SessionRow]] = {}
        for (parent, limit, after), parent_ids in groups.items():
            for parent_id, records in (
                await self._load_group(parent, limit, after, parent_ids)
            ).items():
                found[NestedPageKey(parent, parent_id, limit, after)] = records
        return [found.get(key, []) for key in keys]

    async def _load_group(
        self,
        parent: Parent,
        limit: int,
        after: tuple[Any, uuid.UUID] | None,
        parent_ids: list[uuid.UUID],
    ) -> dict[uuid.UUID, list[SessionRow]]:
        ranked = []
        for column in _PARENT_COLUMNS[parent]:
            conditions = [column.in_(parent_ids), self.visible]
            if after is not None:
                conditions.append(before_position(*after))
            ranked.append(
                select(
                    column.label("parent_id"),
                    *SESSION_ROW_COLUMNS,
                    func.row_number()
                    .over(partition_by=column, order_by=newest_first())
                    .label("rank"),
                ).where(*conditions)
            )
        # A rental can start and end at the same location: de-duplicate per parent.
        union = (
            ranked[0].union_all(*ranked[1:]).subquery() if len(ranked) > 1 else ranked[0].subquery()
        )
        statement = (
            select(union.c.parent_id, *session_row_columns(union, self.engine.dialect.name))
            .where(union.c.rank <= limit)
            .order_by(union.c.parent_id, union.c.reference_time.desc(), union.c.id.desc())
        )
        result: dict[uuid.UUID, list[SessionRow]] = {}
        seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for fetched in await fetch_rows(self.engine, statement):
            parent_id, row = fetched[0], SessionRow._make(fetched[1:])
            if (parent_id, row.id) in seen:
                continue
            seen.add((parent_id, row.id))
            rows = result.setdefault(parent_id, [])
            if len(rows) < limit:
                rows.append(row)
        return result
