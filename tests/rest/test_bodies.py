"""The body builders on their own: renderings the dataset does not reach."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from gateway.responses import JSONResponse
from gateway.rest.bodies import v1_session, v2_session
from planner.formats import format_timestamp
from resolvers.uris import Uris
from storage.enums import EventName
from storage.records import SessionRow

# Rows hold timestamps as stored: naive UTC.
T = datetime(2025, 1, 15, 12, 0)
URIS = Uris("https://gateway.test/")


def parking(**changes) -> SessionRow:
    values = dict(
        id=uuid.UUID(int=1), kind="parking", status="ended",
        user_id=uuid.UUID(int=2), access_key_id=None, created_at=T, updated_at=T, payment_id=None,
        booked_time=None, booked_until_time=None, start_time=T, end_time=T, reference_time=T,
        fee_minor=None, fee_currency=None, payment_status=None, rating=None,
        rating_comment=None, storage_location_id=uuid.UUID(int=3),
        storage_device_id=uuid.UUID(int=4), travel_start_location_id=None,
        travel_end_location_id=None, rental_device_id=None, rental_fleet_id=None, version=0,
        seconds_active=None, seconds_paused=None, battery_used=None, distance_travelled=None,
        event_names=[], event_times=[], auxiliary_device_ids=[],
    )  # fmt: skip
    return SessionRow(**{**values, **changes})


def test_v1_leaves_out_pause_and_resume_events():
    row = parking(event_names=[name.value for name in EventName], event_times=[T] * 5)
    assert [e["name"] for e in v1_session(row, URIS)["events"]] == ["book", "start", "end"]
    assert len(v2_session(row, URIS)["events"]) == 5


@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [
        (0, "EUR", "0.00"),
        (5, "EUR", "0.05"),
        (500, "JPY", "500"),
        (1234, "KWD", "1.234"),
        (10**15, "EUR", "10000000000000.00"),
        (-250, "EUR", "-2.50"),
    ],
)
def test_money_is_always_a_plain_decimal_string(minor, currency, value):
    body = v2_session(parking(fee_minor=minor, fee_currency=currency), URIS)
    assert body["fee"] == {"currency": currency, "value": value}


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        (datetime(2025, 1, 15, 12, 30, 0, 250000), "2025-01-15T12:30:00.250000Z"),
        (datetime(2025, 1, 15, 12, 30), "2025-01-15T12:30:00Z"),
    ],
)
def test_timestamps_are_utc_with_z_and_microseconds_only_when_there_are_any(stored, text):
    """A body keeps them as stored; the response prints them (as GraphQL's scalar does)."""
    row = parking(start_time=stored, event_names=["end"], event_times=[stored])
    body = orjson.loads(JSONResponse(v2_session(row, URIS)).body)
    assert body["start_time"] == text == format_timestamp(stored.replace(tzinfo=UTC))
    assert body["events"] == [{"name": "end", "timestamp": text}]
    assert (
        orjson.loads(JSONResponse(v1_session(row, URIS)).body)["end_time"] == "2025-01-15T12:00:00Z"
    )


def test_a_rating_without_a_comment_keeps_the_key():
    body = v1_session(parking(rating=3), URIS)
    assert body["rating"] == {"rating": "3", "comment": None}


def test_auxiliary_devices_are_references():
    body = v2_session(parking(auxiliary_device_ids=[uuid.UUID(int=9)]), URIS)
    assert body["auxiliary_devices"] == [
        {"id": str(uuid.UUID(int=9)), "uri": URIS.device(uuid.UUID(int=9))}
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2025, 1, 15, 12, 30), "2025-01-15T12:30:00Z"),
        (datetime(2025, 1, 15, 12, 30, tzinfo=UTC), "2025-01-15T12:30:00Z"),
        (datetime(1, 1, 1, 0, 0, 0, 1), "0001-01-01T00:00:00.000001Z"),
        (
            datetime(2025, 1, 15, 14, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            "2025-01-15T12:30:00.000005Z",
        ),
    ],
)
def test_a_timestamp_prints_in_utc_whatever_its_zone(value, text):
    assert format_timestamp(value) == text
