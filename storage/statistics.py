"""SQL pieces of session statistics that mean exactly the same on PostgreSQL and SQLite.

- ``bucket_start``: the start of the hour, day, week (Monday) or month a stored UTC
  timestamp falls in, in an IANA time zone, as a stored UTC timestamp. PostgreSQL
  computes ``date_trunc(unit, ts AT TIME ZONE zone)`` and turns the local start back into
  UTC; SQLite calls ``sgw_bucket(unit, zone, ts)``, a Python function registered on every
  connection (``register_sqlite_functions``) that does the same with ``zoneinfo``,
  including PostgreSQL's choice for local times that a DST change skips (the offset
  before the change) or repeats (the offset after it).
- ``micros_between``: the exact difference of two stored timestamps in microseconds, an
  integer on both databases (no floating point).
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    cast,
    extract,
    func,
    literal_column,
    type_coerce,
)
from sqlalchemy.orm import QueryableAttribute

from storage.types import TZDateTime

BUCKET_UNITS = ("hour", "day", "week", "month")
SQLITE_BUCKET = "sgw_bucket"
# A column, an ORM attribute or any other SQL expression.
Expression = ColumnElement[Any] | QueryableAttribute[Any]
_STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """True for a name of the IANA time zone database (``Europe/Amsterdam``, ``UTC``)."""
    return name in _zone_names()


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _truncate(local: datetime, unit: str) -> datetime:
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown bucket unit {unit!r}")


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local time in ``zone`` as naive UTC, resolved as PostgreSQL resolves it.

    A time a DST change skips takes the offset before the change; a time it repeats
    takes the offset after it (the later instant).
    """
    earlier, later = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier.astimezone(UTC).replace(tzinfo=None)
    exists = earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local
    chosen = later if exists else earlier
    return chosen.astimezone(UTC).replace(tzinfo=None)


def bucket_of(unit: str, zone_name: str, utc: datetime) -> datetime:
    """The bucket start of a naive UTC time, as naive UTC (what both databases compute)."""
    zone = _zone(zone_name)
    local = utc.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    return local_to_utc(_truncate(local, unit), zone)


def _sqlite_bucket(unit: str | None, zone_name: str | None, stored: str | None) -> str | None:
    if unit is None or zone_name is None or stored is None:
        return None
    try:
        start = bucket_of(unit, zone_name, datetime.fromisoformat(stored))
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return start.strftime(_STORED)


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Give an SQLite connection the functions the statistics statements call."""
    dbapi_connection.create_function(SQLITE_BUCKET, 3, _sqlite_bucket, deterministic=True)


def bucket_start(
    dialect: str, unit: str, zone: Expression, stored: Expression
) -> ColumnElement[Any]:
    """The start of the ``unit`` bucket of ``stored`` (naive UTC) in ``zone``, naive UTC."""
    if unit not in BUCKET_UNITS:
        raise ValueError(f"unknown bucket unit {unit!r}")
    name: ColumnElement[str] = literal_column(f"'{unit}'")
    if dialect == "postgresql":
        local = func.timezone(zone, func.timezone("UTC", stored))
        start = func.timezone("UTC", func.timezone(zone, func.date_trunc(name, local)))
    else:
        start = getattr(func, SQLITE_BUCKET)(name, zone, stored)
    return start


def as_timestamp(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """A naive UTC value read back as an aware UTC timestamp."""
    return type_coerce(expression, TZDateTime())


def micros_between(dialect: str, later: Expression, earlier: Expression) -> ColumnElement[int]:
    """``later - earlier`` in whole microseconds, exactly, on either database."""
    if dialect == "postgresql":
        return cast(extract("epoch", later - earlier) * 1_000_000, BigInteger)
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the fraction's digits.
    seconds = func.unixepoch(later) - func.unixepoch(earlier)
    fraction = cast(func.substr(later, 21, 6), Integer) - cast(func.substr(earlier, 21, 6), Integer)
    return seconds * 1_000_000 + fraction


def earliest(dialect: str, *values: Expression) -> ColumnElement[Any]:
    """The earliest of some timestamps (``least``; SQLite's many-argument ``min``)."""
    return func.least(*values) if dialect == "postgresql" else func.min(*values)


def latest(dialect: str, *values: Expression) -> ColumnElement[Any]:
    """The latest of some timestamps (``greatest``; SQLite's many-argument ``max``)."""
    return func.greatest(*values) if dialect == "postgresql" else func.max(*values)
