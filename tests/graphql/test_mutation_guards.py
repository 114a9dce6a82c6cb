"""Guards on writes: who may act, what input is refused, lapsed bookings, idempotency races."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.database import create_engine
from storage.models import Session
from tests.fixtures.dataset import FLEET_G, LOC_X, SESSIONS, USER_A, add_device
from tests.graphql.test_mutations import run


@pytest.fixture
async def engine(writable):
    engine = create_engine(writable.url)
    yield engine
    await engine.dispose()


async def test_an_operator_cannot_open_a_rental_of_a_fleet_it_does_not_run(writable, engine):
    # A vehicle of fleet G parked at location X: operator X runs the place, not the fleet.
    bike = await add_device(engine, "e_bike", location=LOC_X, fleet=FLEET_G)
    result = await run(writable.client, writable.tokens["operator_x"], "startSession",
                       f'deviceId: "{bike}", userId: "{USER_A}"')  # fmt: skip
    assert result["code"] == "NOT_FOUND"


async def test_only_the_rider_rates_a_session(writable):
    ended = SESSIONS[11].id  # user A's cancelled booking at location X, unrated
    for subject in ("operator_x", "admin"):
        result = await run(writable.client, writable.tokens[subject], "rateSession",
                           f'sessionId: "{ended}", rating: 1')  # fmt: skip
        assert result["code"] == "FORBIDDEN", subject


async def test_an_unknown_end_location_is_a_validation_error(writable, engine):
    scooter = await add_device(engine, "e_scooter", fleet=FLEET_G)
    token = writable.tokens["admin"]
    started = await run(writable.client, token, "startSession",
                        f'deviceId: "{scooter}", userId: "{USER_A}"')  # fmt: skip
    arguments = f'sessionId: "{started["uuid"]}", endLocationId: "{uuid.uuid4()}"'
    result = await run(writable.client, token, "endSession", arguments)
    assert result["code"] == "VALIDATION"


@pytest.mark.parametrize(
    "arguments",
    [
        f'sessionId: "{SESSIONS[8].id}", rating: 3, comment: "nul\\u0000here"',
        f'sessionId: "{SESSIONS[8].id}", rating: 3, idempotencyKey: "k\\u0000"',
    ],
)
async def test_nul_characters_are_refused_not_a_fault(writable, arguments):
    result = await run(writable.client, writable.tokens["user_b"], "rateSession", arguments)
    assert result["code"] == "VALIDATION"


async def test_a_lapsed_booking_cannot_start_and_no_longer_holds_the_device(
    writable, engine, clocked
):
    client, clock = clocked
    locker = await add_device(engine, "locker", location=LOC_X)
    until = (clock() + timedelta(minutes=10)).isoformat()
    booked = await run(client, writable.tokens["user_a"], "bookSession",
                       f'deviceId: "{locker}", until: "{until}"')  # fmt: skip
    assert booked["status"] == "BOOKED", booked
    clock.advance(timedelta(minutes=10, seconds=1))
    late = await run(client, writable.tokens["user_a"], "startSession",
                     f'sessionId: "{booked["uuid"]}"')  # fmt: skip
    assert late["code"] == "INVALID_TRANSITION" and "expired" in late["message"]
    other = await run(client, writable.tokens["user_b"], "startSession",
                      f'deviceId: "{locker}"')  # fmt: skip
    assert other["status"] == "ACTIVE"
    async with engine.connect() as connection:
        lapsed = (
            await connection.execute(
                select(Session.status, Session.end_time, Session.booked_until_time).where(
                    Session.id == uuid.UUID(booked["uuid"])
                )
            )
        ).one()
    assert lapsed.status == "ended" and lapsed.end_time == lapsed.booked_until_time


async def test_racing_requests_with_one_key_act_once(writable, engine):
    devices = [await add_device(engine, "locker", location=LOC_X) for _ in range(2)]
    token = writable.tokens["user_a"]
    key = f"race-{uuid.uuid4()}"

    def start(device):
        return run(
            writable.client,
            token,
            "startSession",
            f'deviceId: "{device}", idempotencyKey: "{key}"',
        )

    results = await asyncio.gather(*(start(device) for device in devices * 3))
    async with engine.connect() as connection:
        opened = (
            await connection.execute(
                select(Session.id, Session.storage_device_id).where(
                    Session.storage_device_id.in_(devices)
                )
            )
        ).all()
    assert len(opened) == 1, "one key, one action"
    (session_id, device), *_ = opened
    reported = {r["uuid"] for r in results if r["__typename"] == "Session"}
    assert reported <= {str(session_id)}
    codes = {r["code"] for r in results if r["__typename"] == "OperationError"}
    assert codes <= {"CONFLICT", "IDEMPOTENCY_KEY_REUSED"}
    # Once the race is over, a retry of the winning request replays its session.
    replay = await start(device)
    assert replay["uuid"] == str(session_id)
