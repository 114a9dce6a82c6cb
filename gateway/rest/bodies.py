"""The documented v1 and v2 session bodies, rendered straight from stored rows.

Every documented key is always present ("Null, if ..." means ``null``, never absent).
A row carries the session's events and auxiliary devices (``storage.records.SessionRow``),
so a page of any size is one statement, and rendering builds no objects in between:
timestamps stay as stored (naive UTC) and the response prints them as it writes the
body (``gateway.responses.JSONResponse``, ``planner.formats.JSON_TIMESTAMPS``).
"""

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from planner.formats import format_decimal
from resolvers.uris import Uris
from storage.enums import EventName
from storage.records import SessionRow

Body = dict[str, Any]

# v1 predates pausing; its documented event names are these three only.
V1_EVENT_NAMES = frozenset({EventName.BOOK.value, EventName.START.value, EventName.END.value})


def _ref(id_: uuid.UUID | None, uri: Callable[[str], str]) -> Body | None:
    if id_ is None:
        return None
    text = str(id_)  # once: printing a UUID costs more than building the whole reference
    return {"id": text, "uri": uri(text)}


def _fee(row: SessionRow) -> Body | None:
    fee = row.fee
    return None if fee is None else {"currency": fee.currency, "value": format_decimal(fee.value)}


def _rating(rating: int | None, comment: str | None) -> Body | None:
    # The documentation types the score as a string.
    return None if rating is None else {"rating": str(rating), "comment": comment}


def _events(row: SessionRow, names: frozenset[str] | None = None) -> list[Body]:
    return [
        {"name": name, "timestamp": time}
        for name, time in row.events
        if names is None or name in names
    ]


def _common(row: SessionRow, session_id: str, user_id: str) -> Body:
    """The keys v1 and v2 share, with identical renderings."""
    return {
        "access_key_id": None if row.access_key_id is None else str(row.access_key_id),
        "start_time": row.start_time,
        "user_id": user_id,
        "fee": _fee(row),
        "end_time": row.end_time,
        "rating": _rating(row.rating, row.rating_comment),
        "payment": None if row.payment_status is None else {"status": row.payment_status},
        "id": session_id,
    }


def v1_session(row: SessionRow, uris: Uris) -> Body:
    """A parking session in the deprecated v1 shape."""
    session_id = str(row.id)
    return {
        **_common(row, session_id, str(row.user_id)),
        "uri": uris.session_v1(session_id),
        "location": _ref(row.storage_location_id, uris.location),
        "device": _ref(row.storage_device_id, uris.device),
        "events": _events(row, V1_EVENT_NAMES),
    }


def _storage(row: SessionRow, uris: Uris) -> Body | None:
    if row.storage_device_id is None:
        return None
    return {
        "location": _ref(row.storage_location_id, uris.location),
        "device": _ref(row.storage_device_id, uris.device),
    }


def _travel(row: SessionRow, uris: Uris) -> Body | None:
    if row.rental_device_id is None:
        return None
    return {
        "start_location": _ref(row.travel_start_location_id, uris.location),
        "rental_device": _ref(row.rental_device_id, uris.device),
        "seconds_paused": row.seconds_paused,
        "battery_used": row.battery_used,
        "rental_fleet": _ref(row.rental_fleet_id, uris.fleet),
        "distance_travelled": row.distance_travelled,
        "seconds_active": row.seconds_active,
        "end_location": _ref(row.travel_end_location_id, uris.location),
    }


def v2_session(row: SessionRow, uris: Uris) -> Body:
    """A parking or rental session in the v2 shape."""
    session_id, user_id = str(row.id), str(row.user_id)
    return {
        **_common(row, session_id, user_id),
        "uri": uris.session_v2(user_id, session_id),
        "storage": _storage(row, uris),
        "travel": _travel(row, uris),
        "booked_time": row.booked_time,
        "booked_until_time": row.booked_until_time,
        "auxiliary_devices": [_ref(id_, uris.device) for id_ in row.auxiliary_device_ids],
        "events": _events(row),
        "status": row.status,
    }


def v1_sessions(rows: Iterable[SessionRow], uris: Uris) -> list[Body]:
    """v1 bodies for rows."""
    return [v1_session(row, uris) for row in rows]


def v2_sessions(rows: Iterable[SessionRow], uris: Uris) -> list[Body]:
    """v2 bodies for rows."""
    return [v2_session(row, uris) for row in rows]
