"""Renderings both API faces share, so that GraphQL and REST print values identically."""

from datetime import UTC, datetime


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; microseconds only when there are any."""
    if value.tzinfo is UTC:  # what the database hands back: print it, drop "+00:00"
        return value.isoformat()[:-6] + "Z"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone offset")
    return parsed
