"""Plain read-only records built from rows: what the layers above storage pass around."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple, overload

from storage.enums import DeviceKind, EventName, PaymentStatus, SessionKind, SessionStatus

# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 unless listed)."""
    return _MINOR_DIGITS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in an ISO 4217 currency."""

    currency: str
    value: Decimal

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> "Money":
        """Build from integer minor units, e.g. 250 EUR cents -> 2.50 EUR."""
        return cls(currency, Decimal(minor).scaleb(-minor_digits(currency)))


@dataclass(frozen=True, slots=True)
class Rating:
    """A rider's rating of an ended session, 1 to 5, with an optional comment."""

    rating: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class LocationRecord:
    """A place with parking devices."""

    id: uuid.UUID
    name: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class FleetRecord:
    """A set of rental vehicles."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A parking device or a rental vehicle."""

    id: uuid.UUID
    kind: DeviceKind
    name: str
    location_id: uuid.UUID | None
    fleet_id: uuid.UUID | None


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
@overload
def utc(value: datetime | None) -> datetime | None: ...
def utc(value: datetime | None) -> datetime | None:
    """A row's timestamp (stored naive UTC, or already aware UTC) as an aware one."""
    return None if value is None else value.replace(tzinfo=UTC)


# Stored value to member, without the enum machinery's call per lookup.
SESSION_KINDS: dict[str, SessionKind] = dict(SessionKind._value2member_map_)
SESSION_STATUSES: dict[str, SessionStatus] = dict(SessionStatus._value2member_map_)
EVENT_NAMES: dict[str, EventName] = dict(EventName._value2member_map_)
PAYMENT_STATUSES: dict[str, PaymentStatus] = dict(PaymentStatus._value2member_map_)


class SessionRow(NamedTuple):
    """A session as stored, with its events and auxiliary devices: the one shape of a session.

    Reads, REST bodies, the planner, the lifecycle commands and live updates all pass
    this around. Nothing is converted: timestamps are naive UTC, enums their stored
    strings, money integer minor units. The fields are the sessions table's columns in
    table order (``storage.queries.SESSION_ROW_COLUMNS`` selects them), then the events
    and auxiliary devices that ``session_aggregates`` adds, so one statement reads it
    whole. A read that does not show a field may select a null in its place (see
    ``storage.queries.session_row_selection``).
    """

    id: uuid.UUID
    kind: str
    status: str
    user_id: uuid.UUID
    access_key_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    booked_time: datetime | None
    booked_until_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    reference_time: datetime
    fee_minor: int | None
    fee_currency: str | None
    payment_id: uuid.UUID | None
    payment_status: str | None
    rating: int | None
    rating_comment: str | None
    storage_location_id: uuid.UUID | None
    storage_device_id: uuid.UUID | None
    travel_start_location_id: uuid.UUID | None
    travel_end_location_id: uuid.UUID | None
    rental_device_id: uuid.UUID | None
    rental_fleet_id: uuid.UUID | None
    version: int  # bumped by every write: what optimistic writes check
    seconds_active: int | None
    seconds_paused: int | None
    battery_used: float | None
    distance_travelled: float | None
    event_names: list[str]  # oldest first
    event_times: list[datetime]  # naive UTC, in step with event_names
    auxiliary_device_ids: list[uuid.UUID]  # sorted

    @property
    def fee(self) -> Money | None:
        """The fee as an exact amount, if the session is priced."""
        if self.fee_minor is None or self.fee_currency is None:
            return None
        return Money.from_minor(self.fee_minor, self.fee_currency)

    @property
    def events(self) -> list[tuple[str, datetime]]:
        """``(name, naive UTC time)`` of each event, oldest first."""
        return list(zip(self.event_names, self.event_times, strict=True))
