"""Session statistics, and the occupancy and utilization of locations, computed by the database.

``session_stats`` groups the visible sessions matching a filter by any of location,
device, fleet, kind, status and user, and by an hour, day, week or month, in one
statement on either database:

- a session's **location** is where it was parked, or where a rental started (else
  where it ended); its **device** the locker or dock, or the rented vehicle;
- a session counts in the **bucket** of its reference time (``Session.reference_time``:
  its end once ended, its start while active...), in the time zone asked for or else in
  its location's (UTC for a rental with neither location). A session spanning a bucket's
  edge counts only there. Bucket starts are printed as UTC instants;
- **duration** is end time minus start time, for sessions that have both. ``p50`` and
  ``p90`` are **nearest-rank** percentiles: of the ``n`` durations of a group in
  ascending order, the ``ceil(p * n / 100)``-th. Both databases rank them with
  ``row_number()`` (SQLite has no percentile function) and integer arithmetic, so they
  agree to the microsecond;
- fees are summed per currency, in integer minor units, so totals are exact;
- at most ``MAX_GROUPS`` groups: more is a request error.
"""

import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    bindparam,
    case,
    func,
    literal_column,
    select,
)

from loaders.stats import Occupancy, Utilization, Window
from resolvers.context import RequestScope
from resolvers.errors import InvalidInput
from resolvers.sessions import SessionFilter, _remembered
from storage.enums import SessionKind, SessionStatus
from storage.models import Location, Session
from storage.records import SESSION_KINDS, SESSION_STATUSES, Money
from storage.statistics import as_timestamp, bucket_start, is_time_zone, micros_between

MAX_GROUPS = 1000
_PERCENTILES = (50, 90)


class SessionGroup(StrEnum):
    """What session statistics can be grouped by."""

    LOCATION = "location"
    DEVICE = "device"
    FLEET = "fleet"
    KIND = "kind"
    STATUS = "status"
    USER = "user"


class TimeBucket(StrEnum):
    """The length of the time buckets statistics can be grouped into."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _place() -> ColumnElement[Any]:
    return func.coalesce(
        Session.storage_location_id,
        Session.travel_start_location_id,
        Session.travel_end_location_id,
    )


_GROUP_COLUMNS: dict[SessionGroup, Callable[[], Any]] = {
    SessionGroup.LOCATION: _place,
    SessionGroup.DEVICE: lambda: func.coalesce(Session.storage_device_id, Session.rental_device_id),
    SessionGroup.FLEET: lambda: Session.rental_fleet_id,
    SessionGroup.KIND: lambda: Session.kind,
    SessionGroup.STATUS: lambda: Session.status,
    SessionGroup.USER: lambda: Session.user_id,
}
_ORDER = list(SessionGroup)


@dataclass(frozen=True, slots=True)
class StatsGroup:
    """The statistics of one group: its keys (None where not grouped by) and aggregates."""

    location_id: uuid.UUID | None
    device_id: uuid.UUID | None
    fleet_id: uuid.UUID | None
    kind: SessionKind | None
    status: SessionStatus | None
    user_id: uuid.UUID | None
    bucket: datetime | None
    count: int
    fees: list[Money]
    timed: int  # sessions with a duration
    duration_micros: int | None  # their total
    p50_micros: int | None
    p90_micros: int | None
    distance_travelled: float | None
    battery_used: float | None
    first_reference_time: datetime
    last_reference_time: datetime

    @property
    def average_duration(self) -> float | None:
        """The mean duration in seconds."""
        if not self.timed or self.duration_micros is None:
            return None
        return self.duration_micros / (self.timed * 1_000_000)

    @property
    def p50_duration(self) -> float | None:
        """The median duration in seconds (nearest rank)."""
        return None if self.p50_micros is None else self.p50_micros / 1_000_000

    @property
    def p90_duration(self) -> float | None:
        """The 90th percentile of the durations in seconds (nearest rank)."""
        return None if self.p90_micros is None else self.p90_micros / 1_000_000


_STATEMENTS: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()


def _build(
    dialect: str,
    visible: ColumnElement[bool],
    conditions: list[ColumnElement[bool]],
    groups: tuple[SessionGroup, ...],
    bucket: TimeBucket | None,
    explicit_zone: bool,
) -> Select[Any]:
    """The one statement: rows per group and fee currency, their group numbered."""
    keys: list[Any] = [_GROUP_COLUMNS[g]().label(g.value) for g in groups]
    source: FromClause = Session.__table__
    if bucket is not None:
        if explicit_zone:
            zone: ColumnElement[Any] = bindparam("stats_zone", type_=String())
        else:
            located = Location.__table__.alias("zone_location")
            source = source.outerjoin(located, located.c.id == _place())
            zone = func.coalesce(located.c.time_zone, literal_column("'UTC'"))
        start = bucket_start(dialect, bucket.value, zone, Session.reference_time)
        keys.append(as_timestamp(start).label("bucket"))
    sessions = (
        select(
            *keys,
            Session.fee_currency,
            Session.fee_minor,
            micros_between(dialect, Session.end_time, Session.start_time).label("duration"),
            case((Session.kind == SessionKind.RENTAL.value, Session.distance_travelled)).label(
                "distance"
            ),
            case((Session.kind == SessionKind.RENTAL.value, Session.battery_used)).label("battery"),
            Session.reference_time,
            Session.id,
        )
        .select_from(source)
        .where(visible, *conditions)
        .subquery("grouped_sessions")
    )
    group = [sessions.c[key.name] for key in keys]
    ranked = select(
        sessions,
        func.row_number()
        .over(
            partition_by=[*group, sessions.c.duration.is_(None)],
            order_by=[sessions.c.duration, sessions.c.id],
        )
        .label("duration_rank"),
        func.count(sessions.c.duration).over(partition_by=group or None).label("timed"),
    ).subquery("ranked_sessions")
    ranked_group = [ranked.c[key.name] for key in keys]
    duration, rank, timed = ranked.c.duration, ranked.c.duration_rank, ranked.c.timed
    percentiles = [
        func.max(
            case(
                (
                    duration.is_not(None) & (rank == (timed * p + 99) // 100),
                    duration,
                )
            )
        ).label(f"p{p}")
        for p in _PERCENTILES
    ]
    numbered = (
        select(
            *ranked_group,
            ranked.c.fee_currency,
            func.count().label("sessions"),
            func.sum(ranked.c.fee_minor).label("fee_minor"),
            func.count(duration).label("timed_here"),
            func.sum(duration).label("duration_total"),
            *percentiles,
            func.sum(ranked.c.distance).label("distance"),
            func.sum(ranked.c.battery).label("battery"),
            func.min(ranked.c.reference_time).label("first_reference"),
            func.max(ranked.c.reference_time).label("last_reference"),
            func.dense_rank().over(order_by=ranked_group or None).label("group_number"),
        )
        .group_by(*ranked_group, ranked.c.fee_currency)
        .subquery("numbered_groups")
    )
    return select(numbered).where(numbered.c.group_number <= MAX_GROUPS + 1)


def _sort_key(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((value is not None, value) for value in values)


def _sum(values: Sequence[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present[1:], present[0]) if present else None


async def session_stats(
    request: RequestScope,
    session_filter: SessionFilter,
    group_by: Sequence[SessionGroup] = (),
    bucket: TimeBucket | None = None,
    time_zone: str | None = None,
) -> list[StatsGroup]:
    """The statistics of the visible sessions matching the filter, one entry per group.

    Groups come ordered by their keys (absent keys first). An unknown ``time_zone``, a
    ``time_zone`` without a ``bucket`` or more than ``MAX_GROUPS`` groups is refused.
    """
    if time_zone is not None:
        if bucket is None:
            raise InvalidInput("timeZone needs a bucket")
        if not is_time_zone(time_zone):
            raise InvalidInput(f"{time_zone[:64]!r} is not an IANA time zone")
    groups = tuple(g for g in _ORDER if g in set(group_by))
    principal = request.principal
    dialect = request.reads.dialect
    shape: Hashable = (
        "stats",
        dialect,
        principal.visibility_shape(),
        session_filter.shape(),
        groups,
        bucket,
        time_zone is not None,
    )
    statement = _remembered(
        _STATEMENTS,
        shape,
        lambda: _build(
            dialect,
            principal.session_filter(),
            session_filter.conditions(),
            groups,
            bucket,
            time_zone is not None,
        ),
    )
    params = {**principal.visibility_params(), **session_filter.params()}
    if time_zone is not None:
        params["stats_zone"] = time_zone
    rows = await request.reads.rows(statement, params)
    width = len(groups) + (bucket is not None)
    if any(row[-1] > MAX_GROUPS for row in rows):
        raise InvalidInput(
            f"the statistics have more than {MAX_GROUPS} groups: narrow the filter, "
            "group by fewer keys or choose a longer bucket"
        )
    by_group: dict[tuple[Any, ...], list[Any]] = {}
    for row in sorted(rows, key=lambda r: _sort_key(r[: width + 1])):
        by_group.setdefault(tuple(row[:width]), []).append(row[width:])
    return [_group(groups, bucket is not None, key, parts) for key, parts in by_group.items()]


def _group(
    groups: tuple[SessionGroup, ...], bucketed: bool, key: tuple[Any, ...], parts: list[Any]
) -> StatsGroup:
    """One group from its rows, one per fee currency (each row's values after its keys)."""
    keys: dict[str, Any] = dict(zip((g.value for g in groups), key, strict=False))
    fees = [
        Money.from_minor(int(part[2]), part[0])
        for part in parts
        if part[0] is not None and part[2] is not None
    ]
    durations = [part[4] for part in parts]
    kind, status = keys.get("kind"), keys.get("status")
    return StatsGroup(
        location_id=keys.get("location"),
        device_id=keys.get("device"),
        fleet_id=keys.get("fleet"),
        kind=SESSION_KINDS[kind] if kind is not None else None,
        status=SESSION_STATUSES[status] if status is not None else None,
        user_id=keys.get("user"),
        bucket=key[-1] if bucketed else None,
        count=sum(int(part[1]) for part in parts),
        fees=fees,
        timed=sum(int(part[3]) for part in parts),
        duration_micros=None if _sum(durations) is None else int(_sum(durations)),
        p50_micros=_one(part[5] for part in parts),
        p90_micros=_one(part[6] for part in parts),
        distance_travelled=_sum([part[7] for part in parts]),
        battery_used=_sum([part[8] for part in parts]),
        first_reference_time=min(part[9] for part in parts),
        last_reference_time=max(part[10] for part in parts),
    )


def _one(values: Any) -> int | None:
    """The value a percentile takes in the one row of its group that holds it."""
    present = [int(v) for v in values if v is not None]
    return present[0] if present else None


async def occupancy(request: RequestScope, location_ids: Sequence[uuid.UUID]) -> dict[Any, Any]:
    """Each location's parking devices and those in use now (a visible active session)."""
    found: dict[Any, Any] = await request.loaders.occupancy.load_values(location_ids)
    return found


async def utilization(
    request: RequestScope, location_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, Utilization]:
    """Each location's occupied / available device time from ``start`` to ``end``.

    Sessions are clipped to the window; the window to now (the future is neither
    occupied nor available). ``start`` must come before ``end``.
    """
    if start >= end:
        raise InvalidInput("from must be before to")
    now = request.now()
    windows = [Window(location_id, start, end, now) for location_id in location_ids]
    loaded = await request.loaders.utilization.load_values(windows)
    return {window.location_id: loaded[window] for window in windows}


__all__ = [
    "MAX_GROUPS",
    "Occupancy",
    "SessionGroup",
    "StatsGroup",
    "TimeBucket",
    "Utilization",
    "occupancy",
    "session_stats",
    "utilization",
]
