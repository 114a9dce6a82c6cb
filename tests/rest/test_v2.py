"""The v2 paths: every session kind, filters, and keyset pages with signed tokens."""

import pytest

from storage.database import READS_BY_PATH, compiled_statements
from tests.fixtures.dataset import (
    EBIKE_F,
    FLEET_F,
    LOC_X,
    LOC_Y,
    SESSIONS,
    USER_A,
    USER_B,
)
from tests.rest.data import newest_first, session

BASE = "https://gateway.test"
LIST = "/session/v2/sessions"


def ids(body) -> list[str]:
    return [s["id"] for s in body["data"]]


async def test_every_status_and_kind_is_listed_newest_reference_time_first(rest, tokens):
    body = await rest.ok(LIST, tokens["admin"])
    assert ids(body) == newest_first(SESSIONS)
    assert body["pagination_token"] is None
    assert body["uri"] == f"{BASE}{LIST}"


@pytest.mark.parametrize("status", ["active", "ended"])
async def test_status_filter(rest, tokens, status):
    body = await rest.ok(f"{LIST}?status={status}", tokens["admin"])
    assert ids(body) == newest_first([s for s in SESSIONS if s.status == status])
    assert {s["status"] for s in body["data"]} == {status}


async def test_a_location_matches_parking_there_and_rentals_starting_or_ending_there(rest, tokens):
    body = await rest.ok(f"{LIST}?location_id={LOC_Y}", tokens["admin"])
    there = [s for s in SESSIONS if LOC_Y in (s.location, s.travel_start, s.travel_end)]
    assert ids(body) == newest_first(there)
    assert {s["id"][-3:] for s in body["data"]} == {"103", "104", "105", "106"}


async def test_user_filter(rest, tokens):
    body = await rest.ok(f"{LIST}?user_id={USER_B}", tokens["admin"])
    assert ids(body) == newest_first([s for s in SESSIONS if s.user_id == USER_B])


async def test_dates_filter_on_the_reference_time_of_each_status(rest, tokens):
    body = await rest.ok(f"{LIST}?from=2025-01-19&to=2025-01-19", tokens["admin"])
    assert ids(body) == [str(session(n).id) for n in (107, 103)]  # booked on the 19th
    body = await rest.ok(f"{LIST}?status=ended&from=2025-01-05&to=2025-01-11", tokens["admin"])
    assert ids(body) == [str(session(n).id) for n in (111, 110, 105)]
    body = await rest.ok(f"{LIST}?from=0001-01-01&to=9999-12-31", tokens["admin"])
    assert ids(body) == newest_first(SESSIONS)


async def test_filters_combine(rest, tokens):
    query = f"user_id={USER_A}&location_id={LOC_X}&status=ended&to=2025-01-05"
    body = await rest.ok(f"{LIST}?{query}", tokens["admin"])
    assert ids(body) == [str(session(n).id) for n in (105, 101)]
    assert body["uri"] == f"{BASE}{LIST}?{query}"


async def _walk(rest, token: str, query: str) -> list[list[str]]:
    pages, url = [], f"{LIST}?{query}"
    while url:
        body = await rest.ok(url, token)
        pages.append(ids(body))
        next_token = body["pagination_token"]
        url = f"{LIST}?{query}&pagination_token={next_token}" if next_token else ""
    return pages


@pytest.mark.parametrize(
    ("limit", "sizes"), [(5, [5, 5, 2]), (11, [11, 1]), (12, [12]), (1000, [12])]
)
async def test_tokens_page_through_everything_once_and_are_null_on_the_last_page(
    rest, tokens, limit, sizes
):
    pages = await _walk(rest, tokens["admin"], f"limit={limit}")
    assert [len(page) for page in pages] == sizes
    assert [i for page in pages for i in page] == newest_first(SESSIONS)


async def test_a_filtered_list_pages_within_its_filter(rest, tokens):
    pages = await _walk(rest, tokens["admin"], "status=ended&limit=2")
    assert [i for page in pages for i in page] == newest_first(
        [s for s in SESSIONS if s.status == "ended"]
    )


async def test_the_default_limit_is_100(rest, tokens):
    body = await rest.ok(LIST, tokens["admin"])
    assert len(body["data"]) == len(SESSIONS) < 100


async def test_a_rental_has_travel_metadata_and_no_storage(rest, tokens):
    s = session(105)
    body = await rest.ok(f"/session/v2/users/{USER_A}/sessions/{s.id}", tokens["admin"])
    ref = {"id": str(LOC_X), "uri": f"{BASE}/location/v1/locations/{LOC_X}"}
    assert body["storage"] is None
    assert body["travel"] == {
        "start_location": ref,
        "rental_device": {"id": str(EBIKE_F), "uri": f"{BASE}/device/v1/devices/{EBIKE_F}"},
        "seconds_paused": 600,
        "battery_used": 12.5,
        "rental_fleet": {"id": str(FLEET_F), "uri": f"{BASE}/fleet/v1/fleets/{FLEET_F}"},
        "distance_travelled": 4200.0,
        "seconds_active": 3000,
        "end_location": {"id": str(LOC_Y), "uri": f"{BASE}/location/v1/locations/{LOC_Y}"},
    }
    assert [e["name"] for e in body["events"]] == ["start", "pause", "resume", "end"]
    assert body["payment"] == {"status": "PENDING"}
    assert body["uri"] == f"{BASE}/session/v2/users/{USER_A}/sessions/{s.id}"


async def test_an_active_rental_has_nulls_where_nothing_is_known_yet(rest, tokens):
    s = session(106)
    body = await rest.ok(f"/session/v2/users/{USER_B}/sessions/{s.id}", tokens["admin"])
    assert body["travel"]["end_location"] is None
    assert body["travel"]["seconds_active"] is None
    assert (body["end_time"], body["fee"], body["payment"], body["rating"]) == (None,) * 4
    assert body["status"] == "active"


async def test_a_parking_session_has_storage_auxiliary_devices_and_booking_times(rest, tokens):
    s = session(101)
    body = await rest.ok(f"/session/v2/users/{USER_A}/sessions/{s.id}", tokens["admin"])
    assert body["travel"] is None
    assert body["storage"]["location"]["id"] == str(LOC_X)
    assert [d["id"] for d in body["auxiliary_devices"]] == [str(d) for d in s.auxiliary]
    assert (body["booked_time"], body["booked_until_time"]) == (
        "2025-01-02T07:00:00Z",
        "2025-01-02T07:30:00Z",
    )


async def test_another_users_session_is_not_found_under_this_user_even_for_an_admin(rest, tokens):
    s = session(101)
    response = await rest.get(f"/session/v2/users/{USER_B}/sessions/{s.id}", tokens["admin"])
    assert response.status_code == 404


async def test_every_documented_path_reads_by_the_driver_once_warm(rest, tokens):
    """The statements behind the five paths are built once per shape: after two rounds
    (the second compiles them), a third runs every read by the driver, compiling nothing."""
    parking = session(101)
    mine = next(s for s in SESSIONS if s.user_id == USER_A)
    paths = [
        "/session/v1/device-sessions?page_size=3&page=2",
        f"/session/v1/device-sessions/{parking.id}",
        f"/session/v1/devices/{parking.device}/sessions",
        "/session/v2/sessions?limit=3&status=ended",
        f"/session/v2/users/{USER_A}/sessions/{mine.id}",
    ]
    for _round in (1, 2, 3):
        compiled, by_sqlalchemy = compiled_statements(), READS_BY_PATH["sqlalchemy"]
        for path in paths:
            await rest.ok(path, tokens["admin"])
    assert compiled_statements() == compiled
    assert READS_BY_PATH["sqlalchemy"] == by_sqlalchemy
