"""The deprecated v1 paths: parking sessions only, active or ended, paged by number."""

import pytest

from tests.fixtures.dataset import (
    AUX_X,
    DOCK_X,
    EBIKE_F,
    LOC_X,
    LOCKER_X,
    RACK_Y,
    SESSIONS,
    UNUSED_ID,
    USER_A,
)
from tests.rest.data import newest_first, session

BASE = "https://gateway.test"
V2_LIST_LINK = f'<{BASE}/session/v2/sessions>; rel="successor-version"'


def parking(status: str, location=None) -> list[str]:
    """The dataset's parking sessions of a status (and location), in list order."""
    return newest_first(
        [
            s
            for s in SESSIONS
            if s.kind == "parking" and s.status == status and location in (None, s.location)
        ]
    )


def ids(body) -> list[str]:
    return [s["id"] for s in body["data"]]


async def test_ended_parking_sessions_are_listed_by_default_newest_end_first(rest, tokens):
    body = await rest.ok("/session/v1/device-sessions", tokens["admin"])
    assert ids(body) == parking("ended") == [str(session(n).id) for n in (112, 110, 101, 109)]


async def test_active_true_lists_active_parking_sessions_only(rest, tokens):
    body = await rest.ok("/session/v1/device-sessions?active=true", tokens["admin"])
    assert ids(body) == parking("active") == [str(session(102).id)]


async def test_rentals_never_appear_in_v1(rest, tokens):
    rentals = {str(s.id) for s in SESSIONS if s.kind == "rental"}
    for active in ("true", "false"):
        body = await rest.ok(f"/session/v1/device-sessions?active={active}", tokens["admin"])
        assert not rentals & set(ids(body))
    response = await rest.get(f"/session/v1/device-sessions/{session(105).id}", tokens["admin"])
    assert response.status_code == 404


async def test_location_filter(rest, tokens):
    body = await rest.ok(f"/session/v1/device-sessions?location_id={LOC_X}", tokens["admin"])
    assert ids(body) == parking("ended", LOC_X)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from=2025-01-02&to=2025-01-10", [110, 101]),
        ("from=2025-01-10&to=2025-01-10", [110]),
        ("to=2025-01-01", [109]),
        ("from=2025-01-13", []),
        ("active=true&from=2025-01-20&to=2025-01-20", [102]),
        ("active=true&to=2025-01-19", []),
        ("to=9999-12-31", [112, 110, 101, 109]),
    ],
)
async def test_dates_filter_ended_sessions_by_end_and_active_ones_by_start_inclusive(
    rest, tokens, query, expected
):
    body = await rest.ok(f"/session/v1/device-sessions?{query}", tokens["admin"])
    assert ids(body) == [str(session(n).id) for n in expected]


async def test_pages_are_numbered_from_one_and_a_page_past_the_end_is_empty(rest, tokens):
    pages = [
        ids(await rest.ok(f"/session/v1/device-sessions?page_size=1&page={n}", tokens["admin"]))
        for n in range(1, 6)
    ]
    assert pages == [[i] for i in parking("ended")] + [[]]
    body = await rest.ok("/session/v1/device-sessions?page_size=3&page=2", tokens["admin"])
    assert ids(body) == parking("ended")[3:]


async def test_the_list_uri_is_the_request_url_under_the_public_base(rest, tokens):
    query = "page_size=2&page=1&active=false"
    body = await rest.ok(f"/session/v1/device-sessions?{query}", tokens["admin"])
    assert body["uri"] == f"{BASE}/session/v1/device-sessions?{query}"


async def test_a_session_links_itself_its_location_and_device(rest, tokens):
    s = session(101)
    body = await rest.ok(f"/session/v1/device-sessions/{s.id}", tokens["admin"])
    assert body["uri"] == f"{BASE}/session/v1/device-sessions/{s.id}"
    assert body["location"] == {"id": str(LOC_X), "uri": f"{BASE}/location/v1/locations/{LOC_X}"}
    assert body["device"] == {"id": str(LOCKER_X), "uri": f"{BASE}/device/v1/devices/{LOCKER_X}"}
    assert body["user_id"] == str(USER_A)
    assert [e["name"] for e in body["events"]] == ["book", "start", "end"]


@pytest.mark.parametrize(
    ("device", "expected"),
    [(DOCK_X, 102), (RACK_Y, 103), (LOCKER_X, 101)],
)
async def test_a_device_answers_its_active_else_booked_else_latest_session(
    rest, tokens, device, expected
):
    body = await rest.ok(f"/session/v1/devices/{device}/sessions", tokens["admin"])
    assert body["id"] == str(session(expected).id)


@pytest.mark.parametrize("device", [EBIKE_F, AUX_X, UNUSED_ID])
async def test_a_rental_device_or_one_without_sessions_is_not_found(rest, tokens, device):
    response = await rest.get(f"/session/v1/devices/{device}/sessions", tokens["admin"])
    assert response.status_code == 404
    assert response.json()["error_code"] == "ERRORS.NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/session/v1/device-sessions", 200),
        ("GET", "/session/v1/device-sessions?page=0", 400),
        ("GET", f"/session/v1/device-sessions/{UNUSED_ID}", 404),
        ("GET", f"/session/v1/devices/{UNUSED_ID}/sessions", 404),
        ("GET", "/session/v1/devices/nope/sessions", 400),
        ("POST", "/session/v1/device-sessions", 405),
        ("DELETE", f"/session/v1/device-sessions/{UNUSED_ID}", 405),
        ("PUT", f"/session/v1/devices/{UNUSED_ID}/sessions", 405),
    ],
)
async def test_every_v1_response_is_marked_deprecated_with_its_successor(
    rest, tokens, method, url, status
):
    response = await rest.request(method, url, tokens["admin"])
    assert response.status_code == status
    assert response.headers["deprecation"] == "true"
    assert response.headers["link"] == V2_LIST_LINK
    unauthenticated = await rest.request(method, url)
    # Malformed requests are refused before the token is even looked up.
    assert unauthenticated.status_code == (status if status in (400, 405) else 401)
    assert unauthenticated.headers["deprecation"] == "true"


async def test_a_v1_session_links_to_its_own_v2_successor(rest, tokens):
    s = session(101)
    for url in (f"/session/v1/device-sessions/{s.id}", f"/session/v1/devices/{LOCKER_X}/sessions"):
        response = await rest.get(url, tokens["admin"])
        v2 = f"{BASE}/session/v2/users/{s.user_id}/sessions/{s.id}"
        assert response.headers["link"] == f'<{v2}>; rel="successor-version"'


@pytest.mark.parametrize("page_size", [1, 100, 1000])
async def test_the_last_page_number_answers_an_empty_page(rest, tokens, page_size):
    """The offset of the largest page number is bound as a 64-bit integer on both databases."""
    for _round in (1, 2):  # the second run takes the statement compiled for the driver
        body = await rest.ok(
            f"/session/v1/device-sessions?page={2**31 - 1}&page_size={page_size}", tokens["admin"]
        )
        assert ids(body) == []
