"""Lifecycle mutations: each returns the session, or a typed error with a code."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry

from gateway.graphql.context import Info
from gateway.graphql.types import Session
from resolvers import commands
from resolvers.errors import DomainError
from resolvers.idempotency import run_once
from storage.enums import PaymentStatus
from storage.records import SessionRow

IDEMPOTENCY_HEADER = "idempotency-key"


@strawberry.type(description="Why a mutation did nothing")
class OperationError:
    code: str = strawberry.field(
        description="INVALID_TRANSITION, CONFLICT, NOT_FOUND, FORBIDDEN, VALIDATION, "
        "IDEMPOTENCY_KEY_REUSED, LIMIT_REACHED"
    )
    message: str


SessionResult = Annotated[
    Session | OperationError,
    strawberry.union("SessionResult", description="The changed session, or why nothing changed"),
]

IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Repeat-safe key (or send an Idempotency-Key header); kept 24 hours"
    ),
]


async def _run(
    info: Info,
    operation: str,
    arguments: dict[str, Any],
    idempotency_key: str | None,
    action: Callable[[], Awaitable[SessionRow]],
) -> Session | OperationError:
    header = info.context.request.headers.get(IDEMPOTENCY_HEADER)
    key = idempotency_key or (f"{header}:{operation}" if header else None)
    try:
        row = await run_once(info.context.scope, key, operation, arguments, action)
    except DomainError as error:
        return OperationError(code=error.code, message=error.message)
    return Session.from_row(row, info)


@strawberry.type(description="Session lifecycle commands")
class Mutation:
    @strawberry.mutation(description="Reserve a device until a time at most 24 hours ahead")
    async def book_session(
        self,
        info: Info,
        device_id: UUID,
        until: datetime,
        user_id: UUID | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SessionResult:
        scope = info.context.scope
        arguments = {"device_id": device_id, "until": until, "user_id": user_id}
        return await _run(
            info,
            "bookSession",
            arguments,
            idempotency_key,
            lambda: commands.book_session(scope, device_id, until, user_id),
        )

    @strawberry.mutation(description="Cancel a booking that has not started")
    async def cancel_booking(
        self, info: Info, session_id: UUID, idempotency_key: IdempotencyKey = None
    ) -> SessionResult:
        scope = info.context.scope
        return await _run(
            info,
            "cancelBooking",
            {"session_id": session_id},
            idempotency_key,
            lambda: commands.cancel_booking(scope, session_id),
        )

    @strawberry.mutation(
        description="Start a booked or pending session (sessionId), "
        "or open and start one on a device (deviceId)"
    )
    async def start_session(
        self,
        info: Info,
        session_id: UUID | None = None,
        device_id: UUID | None = None,
        user_id: UUID | None = None,
        start_location_id: UUID | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SessionResult:
        scope = info.context.scope
        arguments = {
            "session_id": session_id,
            "device_id": device_id,
            "user_id": user_id,
            "start_location_id": start_location_id,
        }
        return await _run(
            info,
            "startSession",
            arguments,
            idempotency_key,
            lambda: commands.start_session(scope, **arguments),
        )

    @strawberry.mutation(description="Pause an active rental")
    async def pause_session(
        self, info: Info, session_id: UUID, idempotency_key: IdempotencyKey = None
    ) -> SessionResult:
        scope = info.context.scope
        return await _run(
            info,
            "pauseSession",
            {"session_id": session_id},
            idempotency_key,
            lambda: commands.pause_session(scope, session_id),
        )

    @strawberry.mutation(description="Resume a paused rental")
    async def resume_session(
        self, info: Info, session_id: UUID, idempotency_key: IdempotencyKey = None
    ) -> SessionResult:
        scope = info.context.scope
        return await _run(
            info,
            "resumeSession",
            {"session_id": session_id},
            idempotency_key,
            lambda: commands.resume_session(scope, session_id),
        )

    @strawberry.mutation(description="End an active session; computes times and the fee")
    async def end_session(
        self,
        info: Info,
        session_id: UUID,
        end_location_id: UUID | None = None,
        distance_travelled: float | None = None,
        battery_used: float | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SessionResult:
        scope = info.context.scope
        arguments = {
            "session_id": session_id,
            "end_location_id": end_location_id,
            "distance_travelled": distance_travelled,
            "battery_used": battery_used,
        }
        return await _run(
            info,
            "endSession",
            arguments,
            idempotency_key,
            lambda: commands.end_session(
                scope,
                session_id,
                end_location_id=end_location_id,
                distance_travelled=distance_travelled,
                battery_used=battery_used,
            ),
        )

    @strawberry.mutation(description="Rate an ended session once, 1 to 5")
    async def rate_session(
        self,
        info: Info,
        session_id: UUID,
        rating: int,
        comment: str | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SessionResult:
        scope = info.context.scope
        return await _run(
            info,
            "rateSession",
            {"session_id": session_id, "rating": rating, "comment": comment},
            idempotency_key,
            lambda: commands.rate_session(scope, session_id, rating, comment),
        )

    @strawberry.mutation(description="Move a payment to its next state (admins only)")
    async def set_payment_status(
        self,
        info: Info,
        session_id: UUID,
        status: PaymentStatus,
        idempotency_key: IdempotencyKey = None,
    ) -> SessionResult:
        scope = info.context.scope
        return await _run(
            info,
            "setPaymentStatus",
            {"session_id": session_id, "status": status},
            idempotency_key,
            lambda: commands.set_payment_status(scope, session_id, status),
        )
