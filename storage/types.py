"""Column types that behave the same on SQLite and PostgreSQL."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from asyncpg.pgproto.pgproto import UUID as _UUID
from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator


class TZDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp, stored as naive UTC so both databases agree.

    SQLite drops offsets without converting them and PostgreSQL's ``timestamp`` refuses
    aware values, so values are normalised to UTC on the way in and marked UTC on the
    way out. Naive datetimes are refused: a timestamp without a zone is a bug.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} has no time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Mark a stored naive UTC value as UTC."""
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC)


class JsonList(TypeDecorator[list[Any]]):
    """A JSON array aggregated by the database (SQLite's ``json_group_array``), as a list.

    Each item passes through ``item``, so that the values match what PostgreSQL's native
    arrays hold (``datetime.fromisoformat`` for timestamps, ``uuid.UUID`` for ids).
    """

    impl = Text
    cache_ok = True

    def __init__(self, item: Callable[[Any], Any]) -> None:
        super().__init__()
        self.item = item

    def process_result_value(self, value: Any, dialect: Dialect) -> list[Any]:
        """The decoded list; an empty aggregate is ``[]``.

        ``value`` is the aggregate's JSON text, or its items where the read parsed them
        already (``storage.database`` nests them in a packed read).
        """
        if value is None:
            return []
        items = value if type(value) is list else orjson.loads(value)
        return [self.item(item) for item in items]


def uuid_of(hex_digits: str) -> uuid.UUID:
    """A uuid from its text (32 hex digits, or hyphenated), as a fast ``uuid.UUID``.

    asyncpg's ``UUID``, the type PostgreSQL's reads return: it parses and prints 8 times
    faster than ``uuid.UUID`` and equals, hashes and pickles like it.
    """
    parsed: uuid.UUID = _UUID(hex_digits)
    return parsed
