"""Write quotas: a rider's open sessions and a session's events, each refused clearly."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gateway.config import Settings
from resolvers.identity import create_token
from storage.database import create_engine
from storage.enums import Role
from storage.models import Session, SessionEvent
from tests.conftest import auth
from tests.fixtures.dataset import FLEET_F, LOC_X, add_device
from tests.security.gateways import gateway

RESULT = "__typename ... on OperationError { code message } ... on Session { uuid status }"


@pytest.fixture
async def engine(writable):
    engine = create_engine(writable.url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def rider(engine):
    """A rider with no sessions yet, and a token of theirs."""
    user_id = uuid.uuid4()
    return user_id, await create_token(engine, Role.USER, user_id=user_id)


def until() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def mutate(client, token, document):
    response = await client.post("/graphql", json={"query": document}, headers=auth(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def open_sessions(engine, user_id) -> int:
    statement = select(func.count()).where(Session.user_id == user_id, Session.status != "ended")
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def test_twenty_aliased_bookings_reserve_no_more_devices_than_the_quota(
    writable, engine, rider
):
    user_id, token = rider
    lockers = [await add_device(engine, "locker", location=LOC_X) for _ in range(20)]
    aliased = " ".join(
        f'b{i}: bookSession(deviceId: "{locker}", until: "{until()}") {{ {RESULT} }}'
        for i, locker in enumerate(lockers)
    )
    async with gateway(writable.url, max_open_sessions_per_user=3) as (_, client):
        results = list((await mutate(client, token, f"mutation {{ {aliased} }}")).values())
    assert [r["__typename"] for r in results] == ["Session"] * 3 + ["OperationError"] * 17
    refusal = results[3]
    assert refusal["code"] == "LIMIT_REACHED"
    assert "3 booked or active sessions" in refusal["message"]
    assert "MAX_OPEN_SESSIONS_PER_USER" in refusal["message"]
    assert await open_sessions(engine, user_id) == 3


async def test_concurrent_requests_cannot_both_take_the_last_place(writable, engine, rider):
    user_id, token = rider
    lockers = [await add_device(engine, "locker", location=LOC_X) for _ in range(7)]
    async with gateway(writable.url, max_open_sessions_per_user=2) as (_, client):
        results = await asyncio.gather(
            *(
                mutate(
                    client,
                    token,
                    f'mutation {{ startSession(deviceId: "{locker}") {{ {RESULT} }} }}',
                )
                for locker in lockers[:6]
            )
        )
        outcomes = sorted(r["startSession"]["__typename"] for r in results)
        assert outcomes == ["OperationError"] * 4 + ["Session"] * 2
        assert await open_sessions(engine, user_id) == 2
        # Ending one frees a place.
        started = next(r["startSession"] for r in results if "uuid" in r["startSession"])
        await mutate(
            client,
            token,
            f'mutation {{ endSession(sessionId: "{started["uuid"]}") {{ {RESULT} }} }}',
        )
        again = await mutate(
            client, token, f'mutation {{ startSession(deviceId: "{lockers[6]}") {{ {RESULT} }} }}'
        )
    assert again["startSession"]["status"] == "ACTIVE"
    assert await open_sessions(engine, user_id) == 2


async def test_a_session_keeps_room_for_its_end_and_refuses_events_past_its_quota(
    writable, engine, rider
):
    _, token = rider
    scooter = await add_device(engine, "e_scooter", fleet=FLEET_F)
    async with gateway(writable.url, session_max_events=5) as (_, client):
        started = await mutate(
            client, token, f'mutation {{ startSession(deviceId: "{scooter}") {{ {RESULT} }} }}'
        )
        session = started["startSession"]["uuid"]
        steps = ["pauseSession", "resumeSession", "pauseSession", "resumeSession"]
        outcomes = []
        for step in steps:
            done = await mutate(
                client, token, f'mutation {{ {step}(sessionId: "{session}") {{ {RESULT} }} }}'
            )
            outcomes.append(done[step])
        assert [o["__typename"] for o in outcomes] == ["Session"] * 3 + ["OperationError"]
        assert outcomes[3]["code"] == "LIMIT_REACHED"
        assert "at most 5, its end included" in outcomes[3]["message"]
        assert "SESSION_MAX_EVENTS" in outcomes[3]["message"]
        ended = await mutate(
            client, token, f'mutation {{ endSession(sessionId: "{session}") {{ {RESULT} }} }}'
        )
    assert ended["endSession"]["status"] == "ENDED"
    statement = select(func.count()).where(SessionEvent.session_id == uuid.UUID(session))
    async with engine.connect() as connection:
        assert (await connection.execute(statement)).scalar_one() == 5


def test_the_quotas_default_to_a_thousand_events_and_five_open_sessions():
    settings = Settings.from_env({})
    assert (settings.session_max_events, settings.max_open_sessions_per_user) == (1000, 5)
    with pytest.raises(ValueError, match="SESSION_MAX_EVENTS=2 must be 0 or at least 3"):
        Settings.from_env({"SESSION_MAX_EVENTS": "2"})
