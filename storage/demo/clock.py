"""The fixed present of the demo data, its history's bounds, and time in epoch seconds."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The fixed present of the demo data: nothing happens after it (bar a booking's deadline)."""

HISTORY_DAYS = 730

MINUTE = 60
HOUR = 3600
DAY = 86400
NOW_SECONDS = int(NOW.timestamp())
HISTORY_START = NOW_SECONDS - HISTORY_DAYS * DAY
FLOOR = NOW_SECONDS - 5 * 365 * DAY  # nothing is created before this
CEILING = NOW_SECONDS + 2 * DAY  # a booking's deadline may lie a little after NOW

TimeFormat = Callable[[int], Any]
