"""The time the service reads: a function, so that tests can set and advance it.

Commands stamp what they write with ``RequestScope.now()``; a running gateway uses
``utc_now`` and a test passes its own clock to ``create_app`` instead of sleeping until,
say, a booking lapses.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The system's current time, timezone-aware UTC."""
    return datetime.now(UTC)
