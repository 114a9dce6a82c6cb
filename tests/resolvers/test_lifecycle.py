"""The lifecycle state machine, property-tested: no command sequence reaches a bad state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvers.errors import InvalidTransition
from resolvers.lifecycle import Command, LifecycleState, apply, next_payment_status
from storage.enums import PaymentStatus, SessionKind, SessionStatus

START_STATES = [SessionStatus.PENDING, SessionStatus.BOOKED]


def valid(state: LifecycleState) -> bool:
    """Only an active rental can be paused."""
    if not state.paused:
        return True
    return state.status is SessionStatus.ACTIVE and state.kind is SessionKind.RENTAL


@given(
    kind=st.sampled_from(SessionKind),
    status=st.sampled_from(START_STATES),
    commands=st.lists(st.sampled_from(Command), max_size=30),
)
def test_no_sequence_of_commands_reaches_an_invalid_state(kind, status, commands):
    state = LifecycleState(kind, status)
    order = [SessionStatus.PENDING, SessionStatus.BOOKED, SessionStatus.ACTIVE, SessionStatus.ENDED]
    for command in commands:
        try:
            after = apply(state, command)
        except InvalidTransition:
            continue  # refused: the state is untouched (it is immutable)
        assert valid(after)
        assert order.index(after.status) >= order.index(state.status), "status went backwards"
        assert after.kind is state.kind
        state = after
    assert valid(state)


@given(kind=st.sampled_from(SessionKind), commands=st.lists(st.sampled_from(Command), max_size=30))
def test_an_ended_session_refuses_every_command(kind, commands):
    ended = LifecycleState(kind, SessionStatus.ENDED)
    for command in commands:
        with pytest.raises(InvalidTransition):
            apply(ended, command)


@pytest.mark.parametrize(
    ("status", "command", "expected"),
    [
        (SessionStatus.PENDING, Command.START, SessionStatus.ACTIVE),
        (SessionStatus.BOOKED, Command.START, SessionStatus.ACTIVE),
        (SessionStatus.BOOKED, Command.CANCEL, SessionStatus.ENDED),
        (SessionStatus.ACTIVE, Command.END, SessionStatus.ENDED),
    ],
)
def test_the_documented_steps_are_allowed(status, command, expected):
    assert apply(LifecycleState(SessionKind.PARKING, status), command).status is expected


@pytest.mark.parametrize(
    ("status", "command"),
    [
        (SessionStatus.PENDING, Command.END),
        (SessionStatus.PENDING, Command.CANCEL),
        (SessionStatus.ACTIVE, Command.START),
        (SessionStatus.ACTIVE, Command.CANCEL),
        (SessionStatus.BOOKED, Command.END),
        (SessionStatus.ENDED, Command.START),
    ],
)
def test_other_steps_are_invalid_transitions(status, command):
    with pytest.raises(InvalidTransition):
        apply(LifecycleState(SessionKind.RENTAL, status), command)


def test_only_rentals_pause_and_only_paused_rentals_resume():
    active_rental = LifecycleState(SessionKind.RENTAL, SessionStatus.ACTIVE)
    paused = apply(active_rental, Command.PAUSE)
    assert paused.paused
    with pytest.raises(InvalidTransition):
        apply(paused, Command.PAUSE)
    assert not apply(paused, Command.RESUME).paused
    with pytest.raises(InvalidTransition):
        apply(active_rental, Command.RESUME)
    with pytest.raises(InvalidTransition, match="only rentals"):
        apply(LifecycleState(SessionKind.PARKING, SessionStatus.ACTIVE), Command.PAUSE)
    assert apply(paused, Command.END).status is SessionStatus.ENDED


# The payment transitions, written out here rather than read from the code under test:
# current status -> every status it may move to.
ALLOWED_PAYMENTS = {
    "PENDING": {"PAID", "PAYMENT_FAILED", "NEEDS_APPROVAL", "CANCELED", "NOT_CHARGED"},
    "NEEDS_APPROVAL": {"APPROVED", "CANCELED"},
    "APPROVED": {"PAID", "PAYMENT_FAILED"},
    "PAYMENT_FAILED": {"PENDING", "CANCELED"},
    "PAID": {"REFUNDED", "REFUND_FAILED"},
    "REFUND_FAILED": {"REFUNDED"},
    "REFUNDED": set(),
    "CANCELED": set(),
    "NOT_CHARGED": set(),
}


@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("target", list(PaymentStatus))
def test_payments_move_only_along_the_documented_transitions(current, target):
    if target.name in ALLOWED_PAYMENTS[current.name]:
        assert next_payment_status(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            next_payment_status(current, target)


def test_the_table_above_names_every_payment_status():
    assert set(ALLOWED_PAYMENTS) == {status.name for status in PaymentStatus}


# Every command in every state, written out: the state it leads to, or None if refused.
P, R = SessionKind.PARKING, SessionKind.RENTAL
LIFECYCLE = [
    # kind, status, paused, command, (status after, paused after) or None
    (P, "pending", False, "start", ("active", False)),
    (P, "pending", False, "end", None),
    (P, "pending", False, "cancel", None),
    (P, "pending", False, "book", None),
    (P, "booked", False, "start", ("active", False)),
    (P, "booked", False, "cancel", ("ended", False)),
    (P, "booked", False, "end", None),
    (P, "booked", False, "book", None),
    (P, "active", False, "end", ("ended", False)),
    (P, "active", False, "start", None),
    (P, "active", False, "cancel", None),
    (P, "active", False, "pause", None),
    (P, "active", False, "resume", None),
    (R, "active", False, "pause", ("active", True)),
    (R, "active", False, "resume", None),
    (R, "active", True, "resume", ("active", False)),
    (R, "active", True, "pause", None),
    (R, "active", True, "end", ("ended", False)),
    (R, "booked", False, "pause", None),
    (R, "pending", False, "resume", None),
    *((kind, "ended", False, command, None) for kind in (P, R) for command in Command),
]


@pytest.mark.parametrize(("kind", "status", "paused", "command", "after"), LIFECYCLE)
def test_each_command_in_each_state_does_what_the_lifecycle_diagram_says(
    kind, status, paused, command, after
):
    state = LifecycleState(kind, SessionStatus(status), paused)
    if after is None:
        with pytest.raises(InvalidTransition):
            apply(state, Command(command))
    else:
        result = apply(state, Command(command))
        assert (result.status.value, result.paused, result.kind) == (*after, kind)


def test_settled_payments_are_final_and_paid_ones_can_be_refunded():
    assert next_payment_status(PaymentStatus.PENDING, PaymentStatus.PAID) is PaymentStatus.PAID
    assert next_payment_status(PaymentStatus.PAID, PaymentStatus.REFUNDED) is PaymentStatus.REFUNDED
    for final in (PaymentStatus.REFUNDED, PaymentStatus.CANCELED, PaymentStatus.NOT_CHARGED):
        for target in PaymentStatus:
            with pytest.raises(InvalidTransition):
                next_payment_status(final, target)
    with pytest.raises(InvalidTransition, match="no payment"):
        next_payment_status(None, PaymentStatus.PAID)
