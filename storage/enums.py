"""The closed vocabularies of the session store, shared by every layer above it."""

from enum import StrEnum


class SessionKind(StrEnum):
    """A parking (storage) session in a dock or locker, or a rental (travel) session."""

    PARKING = "parking"
    RENTAL = "rental"


class SessionStatus(StrEnum):
    """Where a session is in its lifecycle."""

    PENDING = "pending"
    BOOKED = "booked"
    ACTIVE = "active"
    ENDED = "ended"


class EventName(StrEnum):
    """What happened to a session at a point in time."""

    BOOK = "book"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"


class PaymentStatus(StrEnum):
    """The documented payment states of a paid session."""

    PENDING = "PENDING"
    PAID = "PAID"
    NEEDS_APPROVAL = "NEEDS_APPROVAL"
    APPROVED = "APPROVED"
    CANCELED = "CANCELED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    REFUNDED = "REFUNDED"
    REFUND_FAILED = "REFUND_FAILED"
    NOT_CHARGED = "NOT_CHARGED"


class DeviceKind(StrEnum):
    """Parking devices sit at a location; rental devices belong to a fleet."""

    LOCKER = "locker"
    BIKE_DOCK = "bike_dock"
    SCOOTER_DOCK = "scooter_dock"
    RACK = "rack"
    E_BIKE = "e_bike"
    E_SCOOTER = "e_scooter"

    @property
    def is_parking(self) -> bool:
        """True for devices a vehicle is parked in, false for vehicles that are rented."""
        return self in PARKING_DEVICE_KINDS


PARKING_DEVICE_KINDS = frozenset(
    {DeviceKind.LOCKER, DeviceKind.BIKE_DOCK, DeviceKind.SCOOTER_DOCK, DeviceKind.RACK}
)
RENTAL_DEVICE_KINDS = frozenset({DeviceKind.E_BIKE, DeviceKind.E_SCOOTER})


class Role(StrEnum):
    """What a bearer of a token is: a rider, an operator of locations and fleets, or an admin."""

    USER = "user"
    OPERATOR = "operator"
    ADMIN = "admin"
