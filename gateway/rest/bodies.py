"""The documented v1 and v2 session bodies, built straight from session records.

Every documented key is always present ("Null, if ..." means ``null``, never absent).
Events and auxiliary devices come through the request's batching loaders, so a page of
any size costs the same number of statements.
"""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.formats import format_timestamp
from resolvers.context import RequestScope
from resolvers.uris import Uris
from storage.enums import EventName
from storage.records import DeviceRecord, EventRecord, Money, Rating, SessionRecord

Body = dict[str, Any]

# v1 predates pausing; its documented event names are these three only.
V1_EVENT_NAMES = frozenset({EventName.BOOK, EventName.START, EventName.END})


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _ref(id_: uuid.UUID | None, uri: Callable[[uuid.UUID], str]) -> Body | None:
    return None if id_ is None else {"id": str(id_), "uri": uri(id_)}


def _fee(fee: Money | None) -> Body | None:
    # Positional notation always: str(Decimal) could print an exponent for some values.
    return None if fee is None else {"currency": fee.currency, "value": format(fee.value, "f")}


def _rating(rating: Rating | None) -> Body | None:
    # The documentation types the score as a string.
    return None if rating is None else {"rating": str(rating.rating), "comment": rating.comment}


def _events(events: Sequence[EventRecord], names: frozenset[EventName] | None = None) -> list[Body]:
    return [
        {"name": event.name.value, "timestamp": format_timestamp(event.timestamp)}
        for event in events
        if names is None or event.name in names
    ]


def _common(session: SessionRecord) -> Body:
    """The keys v1 and v2 share, with identical renderings."""
    return {
        "access_key_id": None if session.access_key_id is None else str(session.access_key_id),
        "start_time": _timestamp(session.start_time),
        "user_id": str(session.user_id),
        "fee": _fee(session.fee),
        "end_time": _timestamp(session.end_time),
        "rating": _rating(session.rating),
        "payment": None
        if session.payment_status is None
        else {"status": session.payment_status.value},
        "id": str(session.id),
    }


def v1_session(session: SessionRecord, events: Sequence[EventRecord], uris: Uris) -> Body:
    """A parking session in the deprecated v1 shape."""
    return {
        **_common(session),
        "uri": uris.session_v1(session.id),
        "location": _ref(session.storage_location_id, uris.location),
        "device": _ref(session.storage_device_id, uris.device),
        "events": _events(events, V1_EVENT_NAMES),
    }


def _storage(session: SessionRecord, uris: Uris) -> Body | None:
    if session.storage_device_id is None:
        return None
    return {
        "location": _ref(session.storage_location_id, uris.location),
        "device": _ref(session.storage_device_id, uris.device),
    }


def _travel(session: SessionRecord, uris: Uris) -> Body | None:
    if session.rental_device_id is None:
        return None
    return {
        "start_location": _ref(session.travel_start_location_id, uris.location),
        "rental_device": _ref(session.rental_device_id, uris.device),
        "seconds_paused": session.seconds_paused,
        "battery_used": session.battery_used,
        "rental_fleet": _ref(session.rental_fleet_id, uris.fleet),
        "distance_travelled": session.distance_travelled,
        "seconds_active": session.seconds_active,
        "end_location": _ref(session.travel_end_location_id, uris.location),
    }


def v2_session(
    session: SessionRecord,
    events: Sequence[EventRecord],
    auxiliary_devices: Sequence[DeviceRecord],
    uris: Uris,
) -> Body:
    """A parking or rental session in the v2 shape."""
    return {
        **_common(session),
        "uri": uris.session_v2(session.user_id, session.id),
        "storage": _storage(session, uris),
        "travel": _travel(session, uris),
        "booked_time": _timestamp(session.booked_time),
        "booked_until_time": _timestamp(session.booked_until_time),
        "auxiliary_devices": [_ref(device.id, uris.device) for device in auxiliary_devices],
        "events": _events(events),
        "status": session.status.value,
    }


async def v1_sessions(
    scope: RequestScope, sessions: Sequence[SessionRecord], uris: Uris
) -> list[Body]:
    """v1 bodies for sessions, their events loaded in one batch."""
    events = await scope.loaders.events.load_many([s.id for s in sessions])
    return [v1_session(s, e, uris) for s, e in zip(sessions, events, strict=True)]


async def v2_sessions(
    scope: RequestScope, sessions: Sequence[SessionRecord], uris: Uris
) -> list[Body]:
    """v2 bodies for sessions, their events and auxiliary devices loaded in one batch each."""
    ids = [s.id for s in sessions]
    events, devices = await asyncio.gather(
        scope.loaders.events.load_many(ids), scope.loaders.auxiliary_devices.load_many(ids)
    )
    return [v2_session(s, e, d, uris) for s, e, d in zip(sessions, events, devices, strict=True)]
