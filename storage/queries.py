"""Reusable pieces of session queries: columns, filters, newest-first order and keysets."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, literal, or_, select, tuple_

from storage.models import Session

SESSION_COLUMNS = tuple(Session.__table__.columns)


def select_sessions() -> Select[tuple[object, ...]]:
    """SELECT every column of the sessions table."""
    return select(*SESSION_COLUMNS)


def newest_first() -> tuple[UnaryExpression[Any], ...]:
    """The list order: newest reference time first, ties broken by id."""
    return (Session.reference_time.desc(), Session.id.desc())


def oldest_first() -> tuple[UnaryExpression[Any], ...]:
    """The reverse of ``newest_first``, for paging backwards."""
    return (Session.reference_time.asc(), Session.id.asc())


def before_position(reference_time: datetime, id_: uuid.UUID) -> ColumnElement[bool]:
    """Rows after the position in newest-first order (older ones)."""
    return tuple_(Session.reference_time, Session.id) < tuple_(
        literal(reference_time, Session.reference_time.type), literal(id_, Session.id.type)
    )


def after_position(reference_time: datetime, id_: uuid.UUID) -> ColumnElement[bool]:
    """Rows before the position in newest-first order (newer ones)."""
    return tuple_(Session.reference_time, Session.id) > tuple_(
        literal(reference_time, Session.reference_time.type), literal(id_, Session.id.type)
    )


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def reference_on_or_after(day: date) -> ColumnElement[bool]:
    """Reference time on ``day`` or later (UTC)."""
    return Session.reference_time >= start_of_day(day)


def reference_on_or_before(day: date) -> ColumnElement[bool]:
    """Reference time on ``day`` or earlier (UTC): the whole day is included."""
    if day == date.max:  # there is no next day to compare with; every time is on or before it
        return Session.reference_time.is_not(None)
    return Session.reference_time < start_of_day(day + timedelta(days=1))


def at_location(location_id: uuid.UUID) -> ColumnElement[bool]:
    """Parking at the location, or a rental that started or ended there."""
    return or_(
        Session.storage_location_id == location_id,
        Session.travel_start_location_id == location_id,
        Session.travel_end_location_id == location_id,
    )


def on_device(device_id: uuid.UUID) -> ColumnElement[bool]:
    """Parked in the device, or riding it."""
    return or_(Session.storage_device_id == device_id, Session.rental_device_id == device_id)
