"""The body builders on their own: renderings the dataset does not reach."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.rest.bodies import v1_session, v2_session
from resolvers.uris import Uris
from storage.enums import EventName, SessionKind, SessionStatus
from storage.records import EventRecord, Money, Rating, SessionRecord

T = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
URIS = Uris("https://gateway.test/")


def parking(**changes) -> SessionRecord:
    values = dict(
        id=uuid.UUID(int=1), kind=SessionKind.PARKING, status=SessionStatus.ENDED,
        user_id=uuid.UUID(int=2), access_key_id=None, created_at=T, updated_at=T,
        booked_time=None, booked_until_time=None, start_time=T, end_time=T, reference_time=T,
        fee=None, payment_id=None, payment_status=None, rating=None,
        storage_location_id=uuid.UUID(int=3), storage_device_id=uuid.UUID(int=4),
        travel_start_location_id=None, travel_end_location_id=None, rental_device_id=None,
        rental_fleet_id=None, seconds_active=None, seconds_paused=None, battery_used=None,
        distance_travelled=None,
    )  # fmt: skip
    return SessionRecord(**{**values, **changes})


def test_v1_leaves_out_pause_and_resume_events():
    events = [EventRecord(name, T) for name in EventName]
    assert [e["name"] for e in v1_session(parking(), events, URIS)["events"]] == [
        "book", "start", "end"
    ]  # fmt: skip
    assert len(v2_session(parking(), events, [], URIS)["events"]) == 5


@pytest.mark.parametrize(
    ("money", "value"),
    [
        (Money.from_minor(0, "EUR"), "0.00"),
        (Money.from_minor(5, "EUR"), "0.05"),
        (Money.from_minor(500, "JPY"), "500"),
        (Money.from_minor(1234, "KWD"), "1.234"),
        (Money.from_minor(10**15, "EUR"), "10000000000000.00"),
        (Money("EUR", Decimal("1E+3")), "1000"),
    ],
)
def test_money_is_always_a_plain_decimal_string(money, value):
    assert v2_session(parking(fee=money), [], [], URIS)["fee"] == {
        "currency": money.currency, "value": value
    }  # fmt: skip


def test_timestamps_are_utc_with_z_whatever_the_offset_of_the_record():
    from datetime import timedelta, timezone

    local = datetime(2025, 1, 15, 14, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    body = v2_session(parking(start_time=local), [], [], URIS)
    assert body["start_time"] == "2025-01-15T12:30:00.250000Z"


def test_a_rating_without_a_comment_keeps_the_key():
    body = v1_session(parking(rating=Rating(3, None)), [], URIS)
    assert body["rating"] == {"rating": "3", "comment": None}
