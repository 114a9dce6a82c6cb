"""How values print, in both API faces: one set of functions, so GraphQL and REST agree.

Each ``format_*`` function takes a domain value and returns what goes into a JSON
response. The GraphQL scalars serialize with these, the REST bodies render with them, and
the planner's builders call them directly. A value a function cannot print raises
``ValueError``; the planner then hands the request to the reference path, which reports
it as GraphQL does.
"""

import math
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# Python's parsers are lenient (``date.fromisoformat("20250101")`` and ``"2025-W01-1"``,
# ``uuid.UUID("{...}")`` and 32 bare hex digits): a value first matches the exact shape.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# orjson's options for a body that holds timestamps as they are stored (naive UTC, or
# aware in UTC): it prints them as ``format_timestamp`` does, in C, as it writes the body.
JSON_TIMESTAMPS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; microseconds only when there are any.

    A naive value is a timestamp as stored: UTC (``storage.types.TZDateTime``). Printed
    by orjson under ``JSON_TIMESTAMPS``, so that a body orjson writes with those options
    prints its timestamps exactly so.
    """
    return orjson.dumps(timestamp_for_json(value), option=JSON_TIMESTAMPS)[1:-1].decode()


def timestamp_for_json(value: datetime) -> datetime:
    """A timestamp left for orjson to print under ``JSON_TIMESTAMPS``: naive or in UTC.

    What the planned lane writes for a ``DateTime`` and the REST bodies for their times:
    the response prints it as ``format_timestamp`` would, in C as it writes the body.
    """
    if type(value) is not datetime:
        raise ValueError(f"{value!r} is not a timestamp")
    zone = value.tzinfo
    return value if zone is None or zone is UTC else value.astimezone(UTC)


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone offset")
    return parsed


def parse_date(value: str) -> date:
    """A calendar date written exactly ``YYYY-MM-DD`` (RFC 3339 ``full-date``)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"{str(value)[:64]!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a calendar date") from error


def parse_uuid(value: str) -> uuid.UUID:
    """A UUID written in its hyphenated form (RFC 9562), in either case."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise ValueError(f"{str(value)[:64]!r} is not a UUID")
    return uuid.UUID(value)


def format_decimal(value: Decimal) -> str:
    """An exact amount in positional notation (``str`` could print an exponent)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal")
    return format(value, "f")


def format_uuid(value: uuid.UUID) -> str:
    """A UUID in its canonical hyphenated form."""
    if not isinstance(value, uuid.UUID):
        raise ValueError(f"{value!r} is not a UUID")
    return str(value)


def format_int(value: int) -> int:
    """A 32-bit integer, as GraphQL's Int allows."""
    if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:
        raise ValueError(f"{value!r} is not a 32-bit integer")
    return value


def format_float(value: float) -> float:
    """A finite float (an integer is widened)."""
    if type(value) is int:
        return float(value)
    if type(value) is not float or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


def format_string(value: str) -> str:
    """Text, as it is."""
    if type(value) is not str:
        raise ValueError(f"{value!r} is not text")
    return value


def format_boolean(value: bool) -> bool:
    """True or false."""
    if type(value) is not bool:
        raise ValueError(f"{value!r} is not a boolean")
    return value


def enum_names(enum: type[Enum]) -> dict[Any, str]:
    """Member to name, for printing a closed vocabulary by its names (GraphQL enums)."""
    return {member: member.name for member in enum}
