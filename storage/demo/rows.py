"""The rows the generator makes: each table's columns in row order, and chunks of sessions."""

from dataclasses import dataclass, field
from typing import Any

LOCATION_COLUMNS = ("id", "name", "time_zone", "created_at")
FLEET_COLUMNS = ("id", "name", "created_at")
DEVICE_COLUMNS = ("id", "kind", "name", "location_id", "fleet_id", "created_at")
SESSION_COLUMNS = (
    "id",
    "kind",
    "status",
    "user_id",
    "access_key_id",
    "created_at",
    "updated_at",
    "booked_time",
    "booked_until_time",
    "start_time",
    "end_time",
    "reference_time",
    "fee_minor",
    "fee_currency",
    "payment_id",
    "payment_status",
    "rating",
    "rating_comment",
    "storage_location_id",
    "storage_device_id",
    "travel_start_location_id",
    "travel_end_location_id",
    "rental_device_id",
    "rental_fleet_id",
    "seconds_active",
    "seconds_paused",
    "battery_used",
    "distance_travelled",
)
EVENT_COLUMNS = ("session_id", "name", "timestamp")
AUXILIARY_COLUMNS = ("session_id", "device_id")

Row = tuple[Any, ...]


@dataclass(slots=True)
class Chunk:
    """The rows of one window of time: sessions, their events and auxiliary devices."""

    sessions: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    auxiliary_devices: list[Row] = field(default_factory=list)
