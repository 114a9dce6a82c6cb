"""Strict parsing of REST path and query parameters: anything unexpected is a 400 VALIDATION.

Parsing happens before authentication and before any resolver call, so a malformed
request never reaches the database. Python's own parsers are lenient (``int(" +1_0")``,
``uuid.UUID("{...}")``, ``date.fromisoformat("20250115")``), so each value is first
matched against the exact documented shape.
"""

import re
import uuid
from datetime import date

from starlette.requests import Request

from planner import formats
from resolvers.errors import InvalidInput

_INTEGER = re.compile(r"-?[0-9]+")
BOOLEANS = {"true": True, "false": False}
NO_PARAMS: frozenset[str] = frozenset()


def parse_uuid(name: str, raw: str) -> uuid.UUID:
    """A hyphenated UUID, or InvalidInput naming the parameter."""
    try:
        return formats.parse_uuid(raw)
    except ValueError as error:
        raise InvalidInput(f"{name} {error}") from error


def parse_date(name: str, raw: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    try:
        return formats.parse_date(raw)
    except ValueError as error:
        raise InvalidInput(f"{name} {error}") from error


def parse_integer(name: str, raw: str, minimum: int, maximum: int) -> int:
    """A decimal integer within minimum..maximum: digits, and a minus sign if negative."""
    if not _INTEGER.fullmatch(raw):
        raise InvalidInput(f"{name} {raw[:64]!r} is not an integer")
    try:
        value = int(raw)
    except ValueError:  # more digits than int() accepts: far out of range anyway
        value = minimum - 1 if raw.startswith("-") else maximum + 1
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{name} must be between {minimum} and {maximum}, got {raw[:24]}")
    return value


def path_uuid(request: Request, name: str) -> uuid.UUID:
    """A UUID path parameter."""
    return parse_uuid(name, request.path_params[name])


class Query:
    """The query string of one request, refusing unknown and repeated parameters."""

    def __init__(self, request: Request, allowed: frozenset[str]) -> None:
        self._values: dict[str, str] = {}
        for name, value in request.query_params.multi_items():
            if name not in allowed:
                # A misspelt parameter (pageSize, status_) would otherwise be silently ignored.
                raise InvalidInput(
                    f"unknown query parameter {name[:64]!r}; expected one of {sorted(allowed)}"
                )
            if name in self._values:
                raise InvalidInput(f"query parameter {name!r} is given more than once")
            self._values[name] = value

    def uuid(self, name: str) -> uuid.UUID | None:
        """An optional UUID parameter."""
        raw = self._values.get(name)
        return None if raw is None else parse_uuid(name, raw)

    def date(self, name: str) -> date | None:
        """An optional YYYY-MM-DD parameter."""
        raw = self._values.get(name)
        return None if raw is None else parse_date(name, raw)

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """An integer parameter within bounds, or its default when absent."""
        raw = self._values.get(name)
        return default if raw is None else parse_integer(name, raw, minimum, maximum)

    def boolean(self, name: str, default: bool) -> bool:
        """``true`` or ``false`` exactly, or the default when absent."""
        raw = self._values.get(name)
        if raw is None:
            return default
        if raw not in BOOLEANS:
            raise InvalidInput(f"{name} must be true or false, got {raw[:64]!r}")
        return BOOLEANS[raw]

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        """One of ``options`` exactly, or None when absent."""
        raw = self._values.get(name)
        if raw is not None and raw not in options:
            raise InvalidInput(f"{name} must be one of {', '.join(options)}, got {raw[:64]!r}")
        return raw

    def text(self, name: str) -> str | None:
        """A raw parameter, or None when absent."""
        return self._values.get(name)
