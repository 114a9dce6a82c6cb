"""Reusable pieces of session queries: columns, filters and the newest-first order.

Other orders and the keysets that page them are ``storage.ordering``'s.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    DateTime,
    Dialect,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
    Subquery,
    Text,
    TypeDecorator,
    UnaryExpression,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import (
    table as table_clause,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.types import NullType

from storage.models import AuxiliaryDevice, Device, Fleet, Location, Session, SessionEvent
from storage.records import SessionRow
from storage.types import JsonList, TZDateTime, uuid_of

SESSION_COLUMNS = tuple(Session.__table__.columns)
# What the catalog records hold, in record order.
LOCATION_COLUMNS = (Location.id, Location.name, Location.time_zone)
FLEET_COLUMNS = (Fleet.id, Fleet.name)
DEVICE_COLUMNS = (Device.id, Device.kind, Device.name, Device.location_id, Device.fleet_id)
_TIME = Session.reference_time.type
_ID = Session.id.type


def _as_stored(column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
    # A timestamp as stored (naive UTC), sparing the conversion to an aware value.
    if isinstance(column.type, TZDateTime):
        return type_coerce(column, DateTime()).label(column.name)
    stored: ColumnElement[Any] = column
    return stored


_SESSIONS_TABLE = Session.__table__
# The columns of a SessionRow, in its order; session_aggregates supplies the rest.
SESSION_ROW_COLUMNS = tuple(
    _as_stored(_SESSIONS_TABLE.c[name]) for name in SessionRow._fields if name in _SESSIONS_TABLE.c
)
_Column = ColumnElement[Any] | QueryableAttribute[Any]
_EMPTY_ARRAY: ColumnElement[Any] = literal_column("'{}'")
_EVENT_NAMES = JsonList(str)
_EVENT_TIMES = JsonList(datetime.fromisoformat)
_DEVICE_IDS = JsonList(uuid_of)


def newest_first() -> tuple[UnaryExpression[Any], ...]:
    """The list order: newest reference time first, ties broken by id."""
    return (Session.reference_time.desc(), Session.id.desc())


@cache  # one statement per table, compiled once for the driver
def estimated_rows(table: str) -> Select[Any]:
    """PostgreSQL's estimate of a table's rows, as its planner makes it: a catalog read.

    The rows per page of the last ANALYZE (autovacuum's or a manual one) times the pages
    the table has now, so it follows growth between analyses; null before the first.
    """
    pages = func.pg_relation_size(literal_column("oid")) / func.current_setting("block_size").cast(
        Integer
    )
    relation: ColumnElement[str] = literal_column("relname")
    estimate = func.round(
        literal_column("reltuples") / func.nullif(literal_column("relpages"), 0) * pages
    ).cast(BigInteger)
    return (
        select(estimate)
        .select_from(table_clause("pg_class"))
        .where(
            relation == table,
            literal_column("relnamespace") == literal_column("current_schema()::regnamespace"),
            literal_column("reltuples") >= 0,
        )
    )


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def reference_on_or_after(day: date) -> ColumnElement[bool]:
    """Reference time on ``day`` or later (UTC); bound as ``from_time``."""
    return Session.reference_time >= bindparam("from_time", start_of_day(day), _TIME)


def reference_on_or_before(day: date) -> ColumnElement[bool]:
    """Reference time on ``day`` or earlier (UTC), the whole day included; bound as ``to_time``."""
    if day == date.max:  # there is no next day to compare with; every time is on or before it
        return Session.reference_time.is_not(None)
    return Session.reference_time < bindparam("to_time", end_of_day(day), _TIME)


def end_of_day(day: date) -> datetime:
    """Midnight UTC at the end of ``day``."""
    return start_of_day(day + timedelta(days=1))


def at_location(location_id: uuid.UUID | BindParameter[uuid.UUID]) -> ColumnElement[bool]:
    """Parking at the location, or a rental that started or ended there."""
    return or_(
        Session.storage_location_id == location_id,
        Session.travel_start_location_id == location_id,
        Session.travel_end_location_id == location_id,
    )


def on_device(device_id: uuid.UUID | BindParameter[uuid.UUID]) -> ColumnElement[bool]:
    """Parked in the device, or riding it."""
    return or_(Session.storage_device_id == device_id, Session.rental_device_id == device_id)


def _ordered_list(
    dialect: str,
    source: FromClause,
    value: _Column,
    sqlite_list: JsonList,
    where: ColumnElement[bool],
    order: tuple[_Column, ...],
) -> ScalarSelect[Any]:
    """``value`` of the ``source`` rows matching ``where``, in ``order``, as one list per row."""
    if dialect == "postgresql":
        # asyncpg decodes arrays to lists itself; NullType spares a pass over every item.
        aggregate = func.coalesce(func.array_agg(aggregate_order_by(value, *order)), _EMPTY_ARRAY)
        return select(type_coerce(aggregate, NullType())).where(where).scalar_subquery()
    # SQLite has no ordered aggregates before 3.44: aggregate an ordered sub-select.
    items = (
        select(value.label("item"))
        .where(where)
        .order_by(*order)
        .correlate_except(source)
        .subquery()
    )
    return select(type_coerce(func.json_group_array(items.c.item), sqlite_list)).scalar_subquery()


def session_aggregates(
    dialect: str, session_id: _Column, fields: frozenset[str] | None = None
) -> list[Any]:
    """Per session, in the statement that lists it: its events and auxiliary devices.

    ``event_names`` and ``event_times`` (oldest first, naive UTC) and
    ``auxiliary_device_ids`` (sorted), as lists, so that a page and everything its REST
    body shows come back in one statement. With ``fields``, those not named are nulls.
    """
    events: FromClause = SessionEvent.__table__
    devices: FromClause = AuxiliaryDevice.__table__
    of_event = SessionEvent.session_id == session_id
    event_order = (SessionEvent.timestamp, SessionEvent.id)
    of_device = AuxiliaryDevice.session_id == session_id
    aggregates = [
        _ordered_list(
            dialect, events, SessionEvent.name, _EVENT_NAMES, of_event, event_order
        ).label("event_names"),
        _ordered_list(
            dialect,
            events,
            type_coerce(SessionEvent.timestamp, DateTime()),
            _EVENT_TIMES,
            of_event,
            event_order,
        ).label("event_times"),
        _ordered_list(
            dialect,
            devices,
            AuxiliaryDevice.device_id,
            _DEVICE_IDS,
            of_device,
            (AuxiliaryDevice.device_id,),
        ).label("auxiliary_device_ids"),
    ]
    return [_unless_needed(a, fields) for a in aggregates]


def _unless_needed(column: Any, fields: frozenset[str] | None) -> Any:
    """``column``, or a null of its type in its place when ``fields`` does not name it.

    Typed, so that SQLite's packed reads know it holds no reals (``storage.database``);
    a cast, so that PostgreSQL says so too (its bare NULL is text, which SQLAlchemy's
    asyncpg processors refuse for a numeric column).
    """
    if fields is None or column.name in fields:
        return column
    if isinstance(column.type, NullType):  # PostgreSQL's aggregates: typed by the driver
        return null().label(column.name)
    return cast(null(), column.type).label(column.name)


def session_row_selection(fields: frozenset[str] | None = None) -> list[Any]:
    """The table columns of a ``SessionRow``; with ``fields``, nulls for those not named."""
    return [_unless_needed(column, fields) for column in SESSION_ROW_COLUMNS]


class _HexKeys(TypeDecorator[list[uuid.UUID]]):
    """Ids bound as one JSON array of the hex text SQLite stores them as."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        """The ids as a JSON array of 32-digit hex strings."""
        return orjson.dumps([key.hex for key in value]).decode()


def in_keys(column: _Column, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the ids bound as ``name``: one parameter, whatever their number.

    An expanding ``IN`` renders a placeholder per id on every run, and PostgreSQL plans
    each length anew; an array (PostgreSQL) or a JSON array (SQLite) keeps one statement.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    keys = func.json_each(bindparam(name, type_=_HexKeys())).table_valued("value")
    return column.in_(select(keys.c.value))


def select_session_rows(dialect: str, fields: frozenset[str] | None = None) -> Select[Any]:
    """SELECT what a ``SessionRow`` holds, from the sessions table, in its order.

    With ``fields``, the fields it does not name are nulls (a read that does not show them).
    """
    return select(*session_row_selection(fields), *session_aggregates(dialect, Session.id, fields))


def session_row_columns(source: FromClause, dialect: str) -> list[Any]:
    """The columns of a ``SessionRow`` read from ``source``, a sub-select of them."""
    return [
        *(source.c[column.name] for column in SESSION_ROW_COLUMNS),
        *session_aggregates(dialect, source.c.id),
    ]


# What a session refers to, for pages that bring it along:
# (label, table, the session's column, the columns taken, in record order).
_LOCATION = (Location.__table__, tuple(c.key for c in LOCATION_COLUMNS))
_DEVICE = (Device.__table__, tuple(c.key for c in DEVICE_COLUMNS))
_FLEET = (Fleet.__table__, tuple(c.key for c in FLEET_COLUMNS))
_REFERENCES = (
    ("storage_location", *_LOCATION[:1], "storage_location_id", _LOCATION[1]),
    ("start_location", *_LOCATION[:1], "travel_start_location_id", _LOCATION[1]),
    ("end_location", *_LOCATION[:1], "travel_end_location_id", _LOCATION[1]),
    ("storage_device", *_DEVICE[:1], "storage_device_id", _DEVICE[1]),
    ("rental_device", *_DEVICE[:1], "rental_device_id", _DEVICE[1]),
    ("rental_fleet", *_FLEET[:1], "rental_fleet_id", _FLEET[1]),
)


REFERENCE_LABELS = frozenset(label for label, *_ in _REFERENCES)


def with_references(
    page: Subquery, labels: frozenset[str] = REFERENCE_LABELS
) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """``page`` joined to the locations, devices and fleet its sessions refer to.

    Returns the joined FROM and its extra columns, labelled ``<label>__<column>``, for
    the references ``labels`` names (``storage_location``, ``rental_fleet``...); a
    reference a session lacks comes back as nulls.
    """
    joined: FromClause = page
    columns: list[ColumnElement[Any]] = []
    for label, table, column, names in _REFERENCES:
        if label not in labels:
            continue
        target = table.alias(label)
        joined = joined.outerjoin(target, target.c.id == page.c[column])
        columns += [target.c[name].label(f"{label}__{name}") for name in names]
    return joined, columns


def reference_slices(fields: Sequence[str]) -> list[tuple[str, int, int]]:
    """Where each reference sits in the rows of a ``with_references`` page with ``fields``.

    ``(label, start, stop)``: ``row[start:stop]`` is the referenced row, in record order,
    all nulls where the session has no such reference.
    """
    slices = []
    names_of = list(fields)
    for label, _, _, names in _REFERENCES:
        first = f"{label}__{names[0]}"
        if first in names_of:
            start = names_of.index(first)
            slices.append((label, start, start + len(names)))
    return slices
