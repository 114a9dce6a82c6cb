"""The session lifecycle as a pure state machine: no I/O, so it can be property-tested.

    (new) ──book──▶ booked ──start──▶ active ──end──▶ ended
    pending ─start─▶ active           active ⇄ paused (rentals: pause / resume)
    booked ──cancel──▶ ended          paused ──end──▶ ended

Payments move on their own machine once a priced session has ended.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from resolvers.errors import InvalidTransition
from storage.enums import EventName, PaymentStatus, SessionKind, SessionStatus


class Command(StrEnum):
    """What a client can ask of a session."""

    BOOK = "book"
    CANCEL = "cancel"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"


@dataclass(frozen=True, slots=True)
class LifecycleState:
    """The part of a session the lifecycle rules look at."""

    kind: SessionKind
    status: SessionStatus
    paused: bool = False


def apply(state: LifecycleState, command: Command) -> LifecycleState:
    """The state after ``command``; raises InvalidTransition and changes nothing if not allowed."""
    status, kind = state.status, state.kind
    if command is Command.START and status in (SessionStatus.PENDING, SessionStatus.BOOKED):
        return replace(state, status=SessionStatus.ACTIVE, paused=False)
    if command is Command.CANCEL and status is SessionStatus.BOOKED:
        return replace(state, status=SessionStatus.ENDED)
    if command is Command.END and status is SessionStatus.ACTIVE:
        return replace(state, status=SessionStatus.ENDED, paused=False)
    if command in (Command.PAUSE, Command.RESUME) and kind is not SessionKind.RENTAL:
        raise InvalidTransition(f"only rentals can {command.value}; this is a parking session")
    if command is Command.PAUSE and status is SessionStatus.ACTIVE and not state.paused:
        return replace(state, paused=True)
    if command is Command.RESUME and status is SessionStatus.ACTIVE and state.paused:
        return replace(state, paused=False)
    where = "paused" if state.paused else status.value
    raise InvalidTransition(f"cannot {command.value} a session that is {where}")


Events = Sequence[tuple[str, datetime]]  # (name, time) oldest first, as ``SessionRow.events``


def is_paused(events: Events) -> bool:
    """True when the last pause has not been followed by a resume."""
    for name, _ in reversed(events):
        if name == EventName.PAUSE:
            return True
        if name in (EventName.RESUME, EventName.START):
            return False
    return False


def paused_seconds(events: Events, end: datetime) -> int:
    """Seconds spent paused, an open pause counting until ``end`` (naive or aware, as events)."""
    total = timedelta(0)
    paused_at: datetime | None = None
    for name, time in events:
        if name == EventName.PAUSE and paused_at is None:
            paused_at = time
        elif name == EventName.RESUME and paused_at is not None:
            total += time - paused_at
            paused_at = None
    if paused_at is not None:
        total += end - paused_at
    return int(total.total_seconds())


PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.PAID,
            PaymentStatus.PAYMENT_FAILED,
            PaymentStatus.NEEDS_APPROVAL,
            PaymentStatus.CANCELED,
            PaymentStatus.NOT_CHARGED,
        }
    ),
    PaymentStatus.NEEDS_APPROVAL: frozenset({PaymentStatus.APPROVED, PaymentStatus.CANCELED}),
    PaymentStatus.APPROVED: frozenset({PaymentStatus.PAID, PaymentStatus.PAYMENT_FAILED}),
    PaymentStatus.PAYMENT_FAILED: frozenset({PaymentStatus.PENDING, PaymentStatus.CANCELED}),
    PaymentStatus.PAID: frozenset({PaymentStatus.REFUNDED, PaymentStatus.REFUND_FAILED}),
    PaymentStatus.REFUND_FAILED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.CANCELED: frozenset(),
    PaymentStatus.NOT_CHARGED: frozenset(),
}


def next_payment_status(current: PaymentStatus | None, target: PaymentStatus) -> PaymentStatus:
    """``target`` if the payment may move there from ``current``; else InvalidTransition."""
    if current is None:
        raise InvalidTransition("the session has no payment")
    if target not in PAYMENT_TRANSITIONS[current]:
        raise InvalidTransition(f"a payment cannot go from {current.value} to {target.value}")
    return target
