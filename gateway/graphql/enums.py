"""The storage enums, registered with Strawberry once; annotations use the classes themselves."""

import strawberry

from resolvers.stats import SessionGroup, TimeBucket
from storage.enums import DeviceKind, EventName, PaymentStatus, SessionKind, SessionStatus
from storage.ordering import SessionOrder

strawberry.enum(SessionKind, description="Parking (storage) or rental (travel)")
strawberry.enum(SessionStatus, description="Where a session is in its lifecycle")
strawberry.enum(EventName, description="What happened to a session")
strawberry.enum(PaymentStatus, description="The state of a session's payment")
strawberry.enum(DeviceKind, description="What a device is")
strawberry.enum(
    SessionOrder,
    description=(
        "A session list's order: a key and a direction, the id breaking ties; a null key "
        "sorts after every value ascending and before every value descending"
    ),
)
strawberry.enum(SessionGroup, description="What session statistics are grouped by")
strawberry.enum(
    TimeBucket, description="The time buckets of session statistics, in a time zone's calendar"
)

__all__ = [
    "DeviceKind",
    "EventName",
    "PaymentStatus",
    "SessionGroup",
    "SessionKind",
    "SessionOrder",
    "SessionStatus",
    "TimeBucket",
]
