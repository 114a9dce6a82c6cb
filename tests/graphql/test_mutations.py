"""The session lifecycle through GraphQL mutations, end to end on both databases."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from storage.database import create_engine
from tests.fixtures.dataset import FLEET_F, LOC_X, LOC_Y, SESSIONS, USER_A, USER_B, add_device
from tests.graphql.helpers import data, global_id

RESULT = """
  __typename
  ... on OperationError { code message }
  ... on Session {
    uuid status kind userId startTime endTime bookedTime bookedUntilTime
    fee { currency value } payment { status } rating { rating comment }
    events { name timestamp }
    details { ... on TravelDetails { secondsActive secondsPaused endLocation { uuid }
                                     distanceTravelled } }
  }
"""


def mutation(name: str, arguments: str) -> str:
    return f"mutation {{ {name}({arguments}) {{ {RESULT} }} }}"


async def run(client, token, name, arguments, headers=None):
    response = await client.post(
        "/graphql",
        json={"query": mutation(name, arguments)},
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"][name]


@pytest.fixture
async def device(writable):
    engine = create_engine(writable.url)
    try:
        yield lambda kind, **place: add_device(engine, kind, **place)
    finally:
        await engine.dispose()


def until(minutes=30):
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_a_rider_books_starts_pauses_resumes_ends_and_rates_a_rental(
    writable, device, clocked
):
    client, clock = clocked
    token = writable.tokens["user_a"]
    scooter = await device("e_scooter", fleet=FLEET_F)
    deadline = (clock() + timedelta(minutes=30)).isoformat()
    booked = await run(client, token, "bookSession", f'deviceId: "{scooter}", until: "{deadline}"')
    assert booked["__typename"] == "Session", booked
    assert (booked["status"], booked["kind"], booked["userId"]) == ("BOOKED", "RENTAL", str(USER_A))
    sid = booked["uuid"]
    clock.advance(timedelta(seconds=30))
    started = await run(client, token, "startSession", f'sessionId: "{sid}"')
    assert started["status"] == "ACTIVE" and started["startTime"]
    clock.advance(timedelta(seconds=60))
    assert (await run(client, token, "pauseSession", f'sessionId: "{sid}"'))["status"] == "ACTIVE"
    clock.advance(timedelta(seconds=20))
    assert (await run(client, token, "resumeSession", f'sessionId: "{sid}"'))["status"] == "ACTIVE"
    clock.advance(timedelta(seconds=50))
    ended = await run(
        client,
        token,
        "endSession",
        f'sessionId: "{sid}", endLocationId: "{LOC_Y}", distanceTravelled: 1234.5',
    )
    assert ended["status"] == "ENDED"
    assert [e["name"] for e in ended["events"]] == ["BOOK", "START", "PAUSE", "RESUME", "END"]
    assert ended["details"]["endLocation"] == {"uuid": str(LOC_Y)}
    assert ended["details"]["distanceTravelled"] == 1234.5
    assert (ended["details"]["secondsActive"], ended["details"]["secondsPaused"]) == (110, 20)
    # Fleet F charges 0.25 per started minute: 130 s from start to end are three.
    assert ended["fee"] == {"currency": "EUR", "value": "0.75"}
    assert ended["payment"] == {"status": "PENDING"}
    rated = await run(client, token, "rateSession", f'sessionId: "{sid}", rating: 4, comment: "ok"')
    assert rated["rating"] == {"rating": 4, "comment": "ok"}
    again = await run(client, token, "rateSession", f'sessionId: "{sid}", rating: 5')
    assert again == {"__typename": "OperationError", "code": "INVALID_TRANSITION",
                     "message": "the session has already been rated"}  # fmt: skip


async def test_a_parking_session_started_on_a_device_ends_with_the_location_fee(writable, device):
    locker = await device("locker", location=LOC_X)
    token = writable.tokens["user_b"]
    started = await run(writable.client, token, "startSession", f'deviceId: "{locker}"')
    assert (started["status"], started["kind"], started["bookedTime"]) == (
        "ACTIVE",
        "PARKING",
        None,
    )
    ended = await run(writable.client, token, "endSession", f'sessionId: "{started["uuid"]}"')
    # Location X gives 15 free minutes.
    assert ended["fee"] == {"currency": "EUR", "value": "0.00"}
    assert ended["payment"] == {"status": "NOT_CHARGED"}


WHOLE_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


async def test_timestamps_written_by_mutations_have_the_precision_of_the_stored_data(
    writable, device
):
    locker = await device("locker", location=LOC_X)
    token = writable.tokens["user_b"]
    started = await run(writable.client, token, "startSession", f'deviceId: "{locker}"')
    ended = await run(writable.client, token, "endSession", f'sessionId: "{started["uuid"]}"')
    rest = await writable.client.get(
        f"/session/v2/users/{USER_B}/sessions/{started['uuid']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    stored = await writable.client.get(
        f"/session/v2/users/{USER_A}/sessions/{SESSIONS[0].id}",
        headers={"Authorization": f"Bearer {writable.tokens['admin']}"},
    )
    written = [
        ended["startTime"],
        ended["endTime"],
        *(e["timestamp"] for e in ended["events"]),
        rest.json()["start_time"],
        *(e["timestamp"] for e in rest.json()["events"]),
    ]
    assert stored.status_code == 200 and WHOLE_SECOND.fullmatch(stored.json()["start_time"])
    assert all(WHOLE_SECOND.fullmatch(t) for t in written), written


async def test_a_booking_can_be_cancelled_and_then_nothing_else(writable, device):
    rack = await device("rack", location=LOC_Y)
    token = writable.tokens["user_a"]
    booked = await run(
        writable.client, token, "bookSession", f'deviceId: "{rack}", until: "{until()}"'
    )
    cancelled = await run(writable.client, token, "cancelBooking", f'sessionId: "{booked["uuid"]}"')
    assert cancelled["status"] == "ENDED" and cancelled["startTime"] is None
    assert cancelled["fee"] is None  # location Y has no tariff
    refused = await run(writable.client, token, "startSession", f'sessionId: "{booked["uuid"]}"')
    assert refused["code"] == "INVALID_TRANSITION"


async def test_invalid_transitions_change_nothing(writable, device):
    dock = await device("bike_dock", location=LOC_X)
    token = writable.tokens["user_a"]
    started = await run(writable.client, token, "startSession", f'deviceId: "{dock}"')
    refused = await run(writable.client, token, "pauseSession", f'sessionId: "{started["uuid"]}"')
    assert refused["code"] == "INVALID_TRANSITION" and "only rentals" in refused["message"]
    node = await data(
        writable.client,
        writable.tokens["admin"],
        "query($id: ID!) { node(id: $id) { ... on Session { status events { name } } } }",
        id=global_id("Session", uuid.UUID(started["uuid"])),
    )
    assert node["node"] == {"status": "ACTIVE", "events": [{"name": "START"}]}


async def test_a_device_takes_one_booking_at_a_time(writable, device):
    locker = await device("locker", location=LOC_X)
    first = await run(writable.client, writable.tokens["user_a"], "bookSession",
                      f'deviceId: "{locker}", until: "{until()}"')  # fmt: skip
    second = await run(writable.client, writable.tokens["user_b"], "bookSession",
                       f'deviceId: "{locker}", until: "{until()}"')  # fmt: skip
    assert first["__typename"] == "Session"
    assert second["code"] == "CONFLICT"


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ('deviceId: "{device}", until: "2020-01-01T00:00:00Z"', "VALIDATION"),
        ('deviceId: "{device}", until: "{far}"', "VALIDATION"),
        (f'deviceId: "{uuid.UUID(int=5)}", until: "{{soon}}"', "NOT_FOUND"),
        (f'deviceId: "{{device}}", until: "{{soon}}", userId: "{USER_B}"', "FORBIDDEN"),
    ],
)
async def test_bad_bookings_get_typed_errors(writable, device, arguments, code):
    locker = await device("locker", location=LOC_X)
    filled = arguments.format(device=locker, far=until(60 * 25), soon=until())
    result = await run(writable.client, writable.tokens["user_a"], "bookSession", filled)
    assert result["code"] == code, result


async def test_riders_cannot_touch_other_riders_sessions(writable):
    mine = SESSIONS[1].id  # user A's active parking session
    result = await run(
        writable.client, writable.tokens["user_b"], "endSession", f'sessionId: "{mine}"'
    )
    assert result["code"] == "NOT_FOUND"


async def test_only_admins_move_payments_and_only_along_valid_transitions(writable):
    pending = SESSIONS[4].id  # ended rental with a PENDING payment
    as_user = await run(writable.client, writable.tokens["user_a"], "setPaymentStatus",
                        f'sessionId: "{pending}", status: PAID')  # fmt: skip
    assert as_user["code"] == "FORBIDDEN"
    admin = writable.tokens["admin"]
    invalid = await run(writable.client, admin, "setPaymentStatus",
                        f'sessionId: "{pending}", status: REFUNDED')  # fmt: skip
    assert invalid["code"] == "INVALID_TRANSITION"
    paid = await run(
        writable.client, admin, "setPaymentStatus", f'sessionId: "{pending}", status: PAID'
    )
    assert paid["payment"] == {"status": "PAID"}
    refunded = await run(writable.client, admin, "setPaymentStatus",
                         f'sessionId: "{pending}", status: REFUNDED')  # fmt: skip
    assert refunded["payment"] == {"status": "REFUNDED"}


@pytest.mark.parametrize("comment_length", [1001])
async def test_ratings_are_validated(writable, comment_length):
    ended = SESSIONS[8].id  # user B's unrated ended session
    token = writable.tokens["user_b"]
    too_high = await run(writable.client, token, "rateSession", f'sessionId: "{ended}", rating: 6')
    assert too_high["code"] == "VALIDATION"
    comment = "x" * comment_length
    too_long = await run(writable.client, token, "rateSession",
                         f'sessionId: "{ended}", rating: 3, comment: "{comment}"')  # fmt: skip
    assert too_long["code"] == "VALIDATION"
    active = await run(writable.client, writable.tokens["user_a"], "rateSession",
                       f'sessionId: "{SESSIONS[1].id}", rating: 3')  # fmt: skip
    assert active["code"] == "INVALID_TRANSITION"


async def test_a_repeated_idempotency_key_replays_without_acting_again(writable, device):
    locker = await device("locker", location=LOC_X)
    token = writable.tokens["user_a"]
    arguments = f'deviceId: "{locker}", idempotencyKey: "start-{locker}"'
    first = await run(writable.client, token, "startSession", arguments)
    repeat = await run(writable.client, token, "startSession", arguments)
    assert first["__typename"] == repeat["__typename"] == "Session"
    assert repeat["uuid"] == first["uuid"]
    assert [e["name"] for e in repeat["events"]] == ["START"]
    other = await run(writable.client, token, "startSession",
                      f'deviceId: "{uuid.uuid4()}", idempotencyKey: "start-{locker}"')  # fmt: skip
    assert other["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_the_idempotency_key_header_works_too(writable, device):
    locker = await device("locker", location=LOC_X)
    token = writable.tokens["user_b"]
    header = {"Idempotency-Key": f"k-{locker}"}
    first = await run(writable.client, token, "startSession", f'deviceId: "{locker}"', header)
    repeat = await run(writable.client, token, "startSession", f'deviceId: "{locker}"', header)
    assert repeat["uuid"] == first["uuid"]
    query = f'{{ sessions(filter: {{deviceId: "{locker}"}}) {{ nodes {{ uuid }} }} }}'
    listed = await data(writable.client, writable.tokens["admin"], query)
    assert listed["sessions"]["nodes"] == [{"uuid": first["uuid"]}]


async def test_every_change_is_visible_at_once_through_rest_v2(writable, device):
    locker = await device("locker", location=LOC_X)
    token = writable.tokens["user_a"]
    started = await run(writable.client, token, "startSession", f'deviceId: "{locker}"')
    path = f"/session/v2/users/{USER_A}/sessions/{started['uuid']}"
    headers = {"Authorization": f"Bearer {token}"}
    active = (await writable.client.get(path, headers=headers)).json()
    assert (active["status"], active["end_time"]) == ("active", None)
    await run(writable.client, token, "endSession", f'sessionId: "{started["uuid"]}"')
    ended = (await writable.client.get(path, headers=headers)).json()
    assert ended["status"] == "ended"
    assert [e["name"] for e in ended["events"]] == ["start", "end"]
    assert ended["payment"] == {"status": "NOT_CHARGED"}  # within location X's free minutes
