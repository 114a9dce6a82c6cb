"""Lifecycle commands: each one transaction, authorized, and announced after commit.

Every command reads the session, asks the pure state machine in ``resolvers.lifecycle``
whether the step is allowed, and writes only if the row still has the version it read:
of concurrent commands on one session exactly one wins, the others get ``Conflict``.
The database's partial unique index decides races for a device's one open session.

Two quotas (``WriteLimits``) bound what writes accumulate, each refused with
``LimitReached``: a rider's open (booked or active) sessions, counted under the rider's
lock so that concurrent requests cannot both take the last place; and a session's
events. An open session always keeps room for its end: a pause or resume that would
take the last place is refused, and an end is always recorded.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import RequestScope
from resolvers.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    LimitReached,
    NotFound,
)
from resolvers.lifecycle import (
    Command,
    LifecycleState,
    apply,
    is_paused,
    next_payment_status,
    paused_seconds,
)
from resolvers.sessions import fetch_visible_session
from resolvers.tariffs import compute_fee, session_duration, tariff_for, to_minor
from storage.enums import EventName, PaymentStatus, Role, SessionKind, SessionStatus
from storage.models import Session, SessionEvent
from storage.queries import on_device, select_session_rows
from storage.quotas import count_events, count_open_sessions, lock_rider
from storage.records import (
    PAYMENT_STATUSES,
    SESSION_KINDS,
    SESSION_STATUSES,
    DeviceRecord,
    SessionRow,
    utc,
)

MAX_BOOKING = timedelta(hours=24)
MAX_COMMENT = 1000


async def _visible_session(request: RequestScope, session_id: uuid.UUID) -> SessionRow:
    session = await fetch_visible_session(request, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    return session


def _state(session: SessionRow) -> LifecycleState:
    return LifecycleState(
        SESSION_KINDS[session.kind], SESSION_STATUSES[session.status], is_paused(session.events)
    )


async def _stored(connection: AsyncConnection, session_id: uuid.UUID) -> SessionRow:
    """The session as this transaction wrote it, events and auxiliary devices included."""
    statement = select_session_rows(connection.dialect.name).where(Session.id == session_id)
    return SessionRow._make((await connection.execute(statement)).one())


async def _write(
    request: RequestScope,
    current: SessionRow,
    values: dict[str, Any],
    events: Sequence[tuple[EventName, datetime]] = (),
) -> SessionRow:
    """Update the session if nobody else did since it was read; add events; announce it."""
    try:
        async with request.write() as connection:
            result = await connection.execute(
                update(Session)
                .where(Session.id == current.id, Session.version == current.version)
                .values(**values, version=Session.version + 1)
            )
            if result.rowcount != 1:
                raise Conflict(f"session {current.id} was changed by another request; retry")
            if events:
                await _check_event_room(request, connection, current.id, events)
                await connection.execute(
                    insert(SessionEvent),
                    [
                        {"session_id": current.id, "name": n.value, "timestamp": t}
                        for n, t in events
                    ],
                )
            await request.updates.publish_in(connection, current.id)
            written = await _stored(connection, current.id)
    except IntegrityError as error:
        raise Conflict("the device already has another booked or active session") from error
    await request.updates.committed()
    return written


async def _check_event_room(
    request: RequestScope,
    connection: AsyncConnection,
    session_id: uuid.UUID,
    events: Sequence[tuple[EventName, datetime]],
) -> None:
    """Refuse events past the session's quota, keeping room for the end of an open one."""
    limit = request.limits.max_session_events
    if not limit or any(name is EventName.END for name, _ in events):
        return  # an end is always recorded: it is what stops a session growing
    held = await count_events(connection, session_id)
    if held + len(events) + 1 > limit:  # + 1: the end it must still be able to record
        raise LimitReached(
            f"session {session_id} has {held} events; a session holds at most {limit}, its "
            "end included (SESSION_MAX_EVENTS): end it and open a new one"
        )


async def _check_open_sessions(
    request: RequestScope, connection: AsyncConnection, user_id: uuid.UUID, now: datetime
) -> None:
    """Refuse a new session to a rider who has as many open ones as the quota allows."""
    limit = request.limits.max_open_sessions
    if not limit:
        return
    await lock_rider(connection, user_id)
    held = await count_open_sessions(connection, user_id, now)
    if held >= limit:
        raise LimitReached(
            f"user {user_id} has {held} booked or active sessions, the most one rider may "
            "have at once (MAX_OPEN_SESSIONS_PER_USER): end or cancel one first"
        )


async def _check_location(request: RequestScope, location_id: uuid.UUID | None) -> None:
    if location_id is not None and await request.loaders.location.load(location_id) is None:
        raise InvalidInput(f"location {location_id} does not exist")


def _acting_user(request: RequestScope, user_id: uuid.UUID | None) -> uuid.UUID:
    principal = request.principal
    if principal.role is Role.USER:
        if user_id is not None and user_id != principal.user_id:
            raise Forbidden("a user can only open sessions for themselves")
        assert principal.user_id is not None
        return principal.user_id
    if user_id is None:
        raise InvalidInput("userId is required when an operator or admin opens a session")
    return user_id


def _may_use_device(request: RequestScope, device: DeviceRecord) -> bool:
    """Operators open sessions only where the session will be theirs to see."""
    principal = request.principal
    if principal.role is not Role.OPERATOR:
        return True
    if device.kind.is_parking:
        return device.location_id in principal.location_ids
    return device.fleet_id in principal.fleet_ids


async def _release_lapsed_bookings(
    request: RequestScope, connection: AsyncConnection, device_id: uuid.UUID, now: datetime
) -> None:
    """End the device's bookings whose time ran out, so they no longer hold the device."""
    lapsed = (
        await connection.execute(
            select(Session.id, Session.booked_until_time).where(
                on_device(device_id),
                Session.status == SessionStatus.BOOKED.value,
                Session.booked_until_time < now,
            )
        )
    ).all()
    for session_id, until in lapsed:
        await connection.execute(
            update(Session)
            .where(Session.id == session_id)
            .values(
                status=SessionStatus.ENDED.value,
                end_time=until,
                reference_time=until,
                updated_at=now,
                version=Session.version + 1,
            )
        )
        await connection.execute(
            insert(SessionEvent).values(
                session_id=session_id, name=EventName.END.value, timestamp=until
            )
        )
        await request.updates.publish_in(connection, session_id)


async def _create(
    request: RequestScope,
    device_id: uuid.UUID,
    user_id: uuid.UUID | None,
    status: SessionStatus,
    booked_until: datetime | None = None,
    start_location_id: uuid.UUID | None = None,
) -> SessionRow:
    device = await request.loaders.device.load(device_id)
    if device is None or not _may_use_device(request, device):
        raise NotFound(f"device {device_id} not found")
    user = _acting_user(request, user_id)
    now = request.now()
    parking = device.kind.is_parking
    if start_location_id is not None and parking:
        raise InvalidInput("startLocationId is only for rentals")
    await _check_location(request, start_location_id)
    session_id = uuid.uuid4()
    booked = status is SessionStatus.BOOKED
    row = {
        "id": session_id,
        "kind": (SessionKind.PARKING if parking else SessionKind.RENTAL).value,
        "status": status.value,
        "user_id": user,
        "access_key_id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "booked_time": now if booked else None,
        "booked_until_time": booked_until,
        "start_time": None if booked else now,
        "reference_time": now,
        "storage_location_id": device.location_id if parking else None,
        "storage_device_id": device.id if parking else None,
        "rental_device_id": None if parking else device.id,
        "rental_fleet_id": None if parking else device.fleet_id,
        "travel_start_location_id": start_location_id,
    }
    event = EventName.BOOK if booked else EventName.START
    try:
        async with request.write() as connection:
            await _release_lapsed_bookings(request, connection, device.id, now)
            await _check_open_sessions(request, connection, user, now)
            await connection.execute(insert(Session).values(**row))
            await connection.execute(
                insert(SessionEvent).values(session_id=session_id, name=event.value, timestamp=now)
            )
            await request.updates.publish_in(connection, session_id)
            written = await _stored(connection, session_id)
    except IntegrityError as error:
        raise Conflict(f"device {device_id} already has a booked or active session") from error
    await request.updates.committed()
    return written


async def book_session(
    request: RequestScope,
    device_id: uuid.UUID,
    until: datetime,
    user_id: uuid.UUID | None = None,
) -> SessionRow:
    """Reserve a device until ``until`` (at most 24 hours ahead)."""
    now = request.now()
    if until.tzinfo is None:
        raise InvalidInput(f"until {until.isoformat()} has no time zone offset")
    if not now < until <= now + MAX_BOOKING:
        raise InvalidInput("until must be in the future and at most 24 hours ahead")
    return await _create(request, device_id, user_id, SessionStatus.BOOKED, booked_until=until)


async def start_session(
    request: RequestScope,
    *,
    session_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    start_location_id: uuid.UUID | None = None,
) -> SessionRow:
    """Start a booked or pending session, or open and start a new one on a device."""
    if (session_id is None) == (device_id is None):
        raise InvalidInput("pass exactly one of sessionId and deviceId")
    if device_id is not None:
        return await _create(
            request, device_id, user_id, SessionStatus.ACTIVE, start_location_id=start_location_id
        )
    assert session_id is not None
    current = await _visible_session(request, session_id)
    apply(_state(current), Command.START)
    until = utc(current.booked_until_time)
    if current.status == SessionStatus.BOOKED and until is not None and until < request.now():
        raise InvalidTransition(f"the booking expired at {until.isoformat()}")
    if start_location_id is not None and current.kind == SessionKind.PARKING:
        raise InvalidInput("startLocationId is only for rentals")
    await _check_location(request, start_location_id)
    now = request.now()
    values: dict[str, Any] = {
        "status": SessionStatus.ACTIVE.value,
        "start_time": now,
        "reference_time": now,
        "updated_at": now,
    }
    if start_location_id is not None:
        values["travel_start_location_id"] = start_location_id
    return await _write(request, current, values, [(EventName.START, now)])


async def cancel_booking(request: RequestScope, session_id: uuid.UUID) -> SessionRow:
    """End a booking that never started."""
    current = await _visible_session(request, session_id)
    apply(_state(current), Command.CANCEL)
    now = request.now()
    values = {"status": "ended", "end_time": now, "reference_time": now, "updated_at": now}
    return await _write(request, current, values, [(EventName.END, now)])


async def _pause_or_resume(
    request: RequestScope, session_id: uuid.UUID, command: Command
) -> SessionRow:
    current = await _visible_session(request, session_id)
    apply(_state(current), command)
    now = request.now()
    name = EventName.PAUSE if command is Command.PAUSE else EventName.RESUME
    return await _write(request, current, {"updated_at": now}, [(name, now)])


async def pause_session(request: RequestScope, session_id: uuid.UUID) -> SessionRow:
    """Pause an active rental."""
    return await _pause_or_resume(request, session_id, Command.PAUSE)


async def resume_session(request: RequestScope, session_id: uuid.UUID) -> SessionRow:
    """Resume a paused rental."""
    return await _pause_or_resume(request, session_id, Command.RESUME)


async def end_session(
    request: RequestScope,
    session_id: uuid.UUID,
    *,
    end_location_id: uuid.UUID | None = None,
    distance_travelled: float | None = None,
    battery_used: float | None = None,
) -> SessionRow:
    """End an active session: times, paused and active seconds, and the fee from the tariff."""
    current = await _visible_session(request, session_id)
    apply(_state(current), Command.END)
    rental = current.kind == SessionKind.RENTAL
    if not rental and (
        end_location_id or distance_travelled is not None or battery_used is not None
    ):
        raise InvalidInput("end location, distance and battery are only for rentals")
    await _check_location(request, end_location_id)
    for name, value in (("distanceTravelled", distance_travelled), ("batteryUsed", battery_used)):
        if value is not None and not 0 <= value < 1e9:
            raise InvalidInput(f"{name} {value!r} must be a non-negative number")
    now = request.now()
    assert current.start_time is not None
    start = utc(current.start_time)
    paused = paused_seconds([(name, utc(time)) for name, time in current.events], now)
    duration = session_duration(start, now)
    values: dict[str, Any] = {
        "status": SessionStatus.ENDED.value,
        "end_time": now,
        "reference_time": now,
        "updated_at": now,
    }
    if rental:
        values |= {
            "seconds_paused": paused,
            "seconds_active": max(int(duration.total_seconds()) - paused, 0),
            "travel_end_location_id": end_location_id,
            "distance_travelled": distance_travelled,
            "battery_used": battery_used,
        }
    tariff = await tariff_for(request.reads, current)
    if tariff is not None:
        fee = compute_fee(tariff, duration)
        values |= {
            "fee_minor": to_minor(fee),
            "fee_currency": fee.currency,
            "payment_id": current.payment_id or uuid.uuid4(),
            "payment_status": (
                PaymentStatus.PENDING if fee.value > 0 else PaymentStatus.NOT_CHARGED
            ).value,
        }
    return await _write(request, current, values, [(EventName.END, now)])


async def rate_session(
    request: RequestScope, session_id: uuid.UUID, rating: int, comment: str | None
) -> SessionRow:
    """Rate an ended session once: 1 to 5, with a comment of at most 1,000 characters."""
    if not 1 <= rating <= 5:
        raise InvalidInput(f"rating must be between 1 and 5, got {rating}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment must be at most {MAX_COMMENT} characters")
    if comment is not None and "\x00" in comment:
        raise InvalidInput("comment must not contain NUL characters")
    current = await _visible_session(request, session_id)
    if request.principal.user_id != current.user_id:
        raise Forbidden("only the rider of a session can rate it")
    if current.status != SessionStatus.ENDED:
        raise InvalidTransition("only an ended session can be rated")
    if current.rating is not None:
        raise InvalidTransition("the session has already been rated")
    values = {"rating": rating, "rating_comment": comment, "updated_at": request.now()}
    return await _write(request, current, values)


async def set_payment_status(
    request: RequestScope, session_id: uuid.UUID, status: PaymentStatus
) -> SessionRow:
    """Move a session's payment along the documented payment states (admins only)."""
    if request.principal.role is not Role.ADMIN:
        raise Forbidden("only an admin can change a payment status")
    current = await _visible_session(request, session_id)
    stored = current.payment_status
    target = next_payment_status(None if stored is None else PAYMENT_STATUSES[stored], status)
    return await _write(
        request, current, {"payment_status": target.value, "updated_at": request.now()}
    )
