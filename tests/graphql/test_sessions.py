"""The sessions connection: visibility, filters, order, keyset paging, the details union."""

import uuid

import pytest

from tests.fixtures.dataset import (
    DOCK_X,
    EBIKE_F,
    FLEET_F,
    LOC_X,
    LOC_Y,
    SESSIONS,
    USER_A,
    visible_to,
)
from tests.graphql.helpers import data, gql

LIST = """
query($filter: SessionFilter, $first: Int, $after: String, $last: Int, $before: String) {
  sessions(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { uuid status kind } }
    nodes { uuid }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def newest_first(ids: set[uuid.UUID]) -> list[str]:
    chosen = [s for s in SESSIONS if s.id in ids]
    chosen.sort(key=lambda s: (s.reference, s.id), reverse=True)
    return [str(s.id) for s in chosen]


async def uuids(client, token, **variables) -> list[str]:
    result = await data(client, token, LIST, first=100, **variables)
    return [edge["node"]["uuid"] for edge in result["sessions"]["edges"]]


@pytest.mark.parametrize("subject", ["admin", "user_a", "user_b", "operator_x", "operator_f"])
async def test_each_subject_sees_exactly_its_sessions_newest_first(client, tokens, subject):
    assert await uuids(client, tokens[subject]) == newest_first(visible_to(subject))


@pytest.mark.parametrize(
    ("session_filter", "expected"),
    [
        ({"status": ["ENDED"]}, {s.id for s in SESSIONS if s.status == "ended"}),
        (
            {"status": ["ACTIVE", "BOOKED"]},
            {s.id for s in SESSIONS if s.status in ("active", "booked")},
        ),
        ({"kind": "RENTAL"}, {s.id for s in SESSIONS if s.kind == "rental"}),
        ({"userId": str(USER_A)}, {s.id for s in SESSIONS if s.user_id == USER_A}),
        ({"deviceId": str(DOCK_X)}, {s.id for s in SESSIONS if s.device == DOCK_X}),
        ({"deviceId": str(EBIKE_F)}, {s.id for s in SESSIONS if s.device == EBIKE_F}),
        ({"fleetId": str(FLEET_F)}, {s.id for s in SESSIONS if s.fleet == FLEET_F}),
        (
            {"locationId": str(LOC_Y)},
            {s.id for s in SESSIONS if LOC_Y in (s.location, s.travel_start, s.travel_end)},
        ),
        (
            {"from": "2025-01-05", "to": "2025-01-11"},
            {s.id for s in SESSIONS if 5 <= s.reference.day <= 11},
        ),
        (
            {"status": ["ENDED"], "locationId": str(LOC_X), "to": "2025-01-02"},
            {
                s.id
                for s in SESSIONS
                if s.status == "ended" and s.location == LOC_X and s.reference.day <= 2
            },
        ),
    ],
)
async def test_filters_narrow_the_list(client, tokens, session_filter, expected):
    assert await uuids(client, tokens["admin"], filter=session_filter) == newest_first(expected)


async def test_the_to_date_includes_the_whole_day(client, tokens):
    # Session 102 is referenced at 2025-01-20T09:00Z.
    assert str(SESSIONS[1].id) in await uuids(client, tokens["admin"], filter={"to": "2025-01-20"})
    assert str(SESSIONS[1].id) not in await uuids(
        client, tokens["admin"], filter={"to": "2025-01-19"}
    )


async def test_forward_paging_visits_every_session_once_in_order(client, tokens):
    seen, after = [], None
    while True:
        page = (await data(client, tokens["admin"], LIST, first=5, after=after))["sessions"]
        seen += [node["uuid"] for node in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == newest_first(visible_to("admin"))


async def test_backward_paging_returns_the_page_before_a_cursor(client, tokens):
    everything = newest_first(visible_to("admin"))
    first_page = (await data(client, tokens["admin"], LIST, first=6))["sessions"]
    before = first_page["pageInfo"]["endCursor"]
    page = (await data(client, tokens["admin"], LIST, last=2, before=before))["sessions"]
    assert [n["uuid"] for n in page["nodes"]] == everything[3:5]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is True


async def test_a_cursor_from_another_filter_is_refused(client, tokens):
    page = await data(client, tokens["admin"], LIST, first=2, filter={"kind": "PARKING"})
    cursor = page["sessions"]["pageInfo"]["endCursor"]
    body = await gql(client, tokens["admin"], LIST, first=2, after=cursor)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGINATION_TOKEN"


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJ4IjoxfQ.AAAA", "a.b.c"])
async def test_a_forged_cursor_is_refused(client, tokens, cursor):
    body = await gql(client, tokens["admin"], LIST, first=2, after=cursor)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGINATION_TOKEN"


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_sizes_outside_1_to_100_are_refused(client, tokens, first):
    body = await gql(client, tokens["admin"], LIST, first=first)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert "first" in body["errors"][0]["message"]


async def test_from_after_to_is_refused(client, tokens):
    body = await gql(
        client, tokens["admin"], LIST, first=5, filter={"from": "2025-02-01", "to": "2025-01-01"}
    )
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"


DETAILS = """
query($filter: SessionFilter) { sessions(filter: $filter, first: 100) { nodes {
  uuid kind fee { currency value } payment { status } rating { rating comment }
  startTime endTime bookedTime bookedUntilTime uri
  details {
    __typename
    ... on StorageDetails { location { uuid name timeZone } device { uuid kind } }
    ... on TravelDetails { startLocation { uuid } endLocation { uuid } rentalDevice { uuid kind }
                           rentalFleet { uuid name } secondsActive secondsPaused }
  }
  events { name timestamp }
  auxiliaryDevices { uuid }
} } }"""


async def test_details_are_storage_for_parking_and_travel_for_rentals(client, tokens):
    nodes = (await data(client, tokens["admin"], DETAILS))["sessions"]["nodes"]
    by_id = {node["uuid"]: node for node in nodes}
    for s in SESSIONS:
        node = by_id[str(s.id)]
        if s.kind == "parking":
            assert node["details"]["__typename"] == "StorageDetails"
            assert node["details"]["location"]["uuid"] == str(s.location)
            assert node["details"]["device"]["uuid"] == str(s.device)
        else:
            assert node["details"]["__typename"] == "TravelDetails"
            assert node["details"]["rentalDevice"]["uuid"] == str(s.device)
            assert node["details"]["rentalFleet"]["uuid"] == str(s.fleet)
            start = node["details"]["startLocation"]
            assert (start and start["uuid"]) == (str(s.travel_start) if s.travel_start else None)


async def test_money_timestamps_and_events_render_exactly(client, tokens):
    nodes = (await data(client, tokens["admin"], DETAILS))["sessions"]["nodes"]
    first = next(n for n in nodes if n["uuid"] == str(SESSIONS[0].id))
    assert first["fee"] == {"currency": "EUR", "value": "2.50"}
    assert first["payment"] == {"status": "PAID"}
    assert first["rating"] == {"rating": 5, "comment": "Dry and safe"}
    assert first["startTime"] == "2025-01-02T08:00:00Z"
    assert first["bookedUntilTime"] == "2025-01-02T07:30:00Z"
    assert [e["name"] for e in first["events"]] == ["BOOK", "START", "END"]
    assert first["auxiliaryDevices"] == [{"uuid": str(SESSIONS[0].auxiliary[0])}]
    assert (
        first["uri"] == f"https://gateway.test/session/v2/users/{USER_A}/sessions/{SESSIONS[0].id}"
    )
    rental = next(n for n in nodes if n["uuid"] == str(SESSIONS[4].id))
    assert [e["name"] for e in rental["events"]] == ["START", "PAUSE", "RESUME", "END"]
    assert rental["details"]["secondsPaused"] == 600
    assert rental["details"]["secondsActive"] == 3000
    unpaid = next(n for n in nodes if n["uuid"] == str(SESSIONS[8].id))
    assert unpaid["fee"] is None and unpaid["payment"] is None and unpaid["rating"] is None
