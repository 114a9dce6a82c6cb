"""Loaders of the locations' occupancy and utilization: one statement for a whole level.

Both count the parking devices at each location and the visible sessions on them, so a
rider sees only their own share of a location's use, an operator the use of theirs
(the visibility rule of every read, ``Visibility``).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    select,
)

from loaders.sessions import VisibleSessionsLoader
from storage.enums import SessionStatus
from storage.models import Device, Session
from storage.queries import in_keys
from storage.statistics import earliest, latest, micros_between

_TIME = Session.reference_time.type
_ACTIVE: ColumnElement[str] = literal_column(f"'{SessionStatus.ACTIVE.value}'")


@dataclass(frozen=True, slots=True)
class Occupancy:
    """A location's parking devices now, and how many hold an active session."""

    devices: int
    occupied: int

    @property
    def ratio(self) -> float | None:
        """``occupied / devices``; None at a location without devices."""
        return self.occupied / self.devices if self.devices else None


@dataclass(frozen=True, slots=True)
class Utilization:
    """Occupied and available device time at a location over a window, in microseconds."""

    occupied_micros: int
    available_micros: int

    @property
    def occupied_seconds(self) -> float:
        """Occupied device-seconds."""
        return self.occupied_micros / 1_000_000

    @property
    def available_seconds(self) -> float:
        """Available device-seconds: the devices times the window's length."""
        return self.available_micros / 1_000_000

    @property
    def ratio(self) -> float | None:
        """``occupied / available``; None when nothing was available."""
        if not self.available_micros:
            return None
        return self.occupied_micros / self.available_micros


@dataclass(frozen=True, slots=True)
class Window:
    """A location's utilization over ``start`` to ``end``, counted as of ``now``."""

    location_id: uuid.UUID
    start: datetime
    end: datetime
    now: datetime


class OccupancyLoader(VisibleSessionsLoader[Any, Any]):
    """Locations' occupancy by location id."""

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """Devices per location, and those with a visible active session."""
        # The status written into the SQL, not bound: a generic plan then knows it and
        # reads the partial index of open sessions by device.
        in_use = and_(
            Session.storage_device_id == Device.id,
            Session.status == _ACTIVE,
            visible,
        )
        return (
            select(Device.location_id, func.count(Device.id), func.count(Session.id))
            .select_from(Device)
            .outerjoin(Session, in_use)
            .where(in_keys(Device.location_id, "location_ids", dialect))
            .group_by(Device.location_id)
        )

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[Occupancy]:
        """One statement for every location asked for in this tick."""
        rows = await self.fetch({"location_ids": list(keys)})
        found = {row[0]: Occupancy(int(row[1]), int(row[2])) for row in rows}
        return [found.get(key, Occupancy(0, 0)) for key in keys]


class UtilizationLoader(VisibleSessionsLoader[Any, Any]):
    """Locations' utilization by ``Window``: one statement per window asked for."""

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """Devices per location, and the device time visible sessions held in the window."""
        start = bindparam("window_start", type_=_TIME)
        end = bindparam("window_end", type_=_TIME)
        now = bindparam("window_now", type_=_TIME)
        until = func.coalesce(Session.end_time, now)
        overlaps = and_(
            Session.storage_device_id == Device.id,
            Session.start_time.is_not(None),
            Session.start_time < end,
            until > start,
            visible,
        )
        # Only where a session joined: PostgreSQL's least and greatest skip nulls.
        held = case(
            (
                Session.id.is_not(None),
                micros_between(
                    dialect,
                    earliest(dialect, until, end),
                    latest(dialect, Session.start_time, start),
                ),
            )
        )
        return (
            select(
                Device.location_id,
                func.count(func.distinct(Device.id)),
                func.coalesce(func.sum(held), 0),
            )
            .select_from(Device)
            .outerjoin(Session, overlaps)
            .where(in_keys(Device.location_id, "location_ids", dialect))
            .group_by(Device.location_id)
        )

    async def batch_load_fn(self, keys: Sequence[Window]) -> list[Utilization]:
        """One statement per distinct window (one for a typical request)."""
        windows: dict[tuple[datetime, datetime, datetime], list[uuid.UUID]] = {}
        for key in keys:
            windows.setdefault((key.start, key.end, key.now), []).append(key.location_id)
        found: dict[Window, Utilization] = {}
        for (start, end, now), location_ids in windows.items():
            # The future is neither occupied nor available: the window ends now at the latest.
            stop = min(end, now)
            length = max(0, (stop - start) // _MICROSECOND)
            params = {
                "location_ids": location_ids,
                "window_start": start,
                "window_end": stop,
                "window_now": now,
            }
            rows = await self.fetch(params)
            by_location = {row[0]: (int(row[1]), int(row[2])) for row in rows}
            for location_id in location_ids:
                devices, held = by_location.get(location_id, (0, 0))
                window = Window(location_id, start, end, now)
                found[window] = Utilization(held if length else 0, devices * length)
        return [found[key] for key in keys]


_MICROSECOND = datetime.resolution
