"""The lifecycle state machine, property-tested: no command sequence reaches a bad state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvers.errors import InvalidTransition
from resolvers.lifecycle import (
    PAYMENT_TRANSITIONS,
    Command,
    LifecycleState,
    apply,
    next_payment_status,
)
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


@given(current=st.sampled_from(PaymentStatus), target=st.sampled_from(PaymentStatus))
def test_payments_move_only_along_the_documented_transitions(current, target):
    if target in PAYMENT_TRANSITIONS[current]:
        assert next_payment_status(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            next_payment_status(current, target)


def test_settled_payments_are_final_and_paid_ones_can_be_refunded():
    assert next_payment_status(PaymentStatus.PENDING, PaymentStatus.PAID) is PaymentStatus.PAID
    assert next_payment_status(PaymentStatus.PAID, PaymentStatus.REFUNDED) is PaymentStatus.REFUNDED
    for final in (PaymentStatus.REFUNDED, PaymentStatus.CANCELED, PaymentStatus.NOT_CHARGED):
        assert PAYMENT_TRANSITIONS[final] == frozenset()
    with pytest.raises(InvalidTransition, match="no payment"):
        next_payment_status(None, PaymentStatus.PAID)
