"""Who sees what: every REST endpoint and every GraphQL root field and node type, for every
kind of caller, on the fixed dataset. Each caller gets exactly the rows it may see and no
others, and a hidden row answers exactly as a missing one (same status, same body once the
correlation id and the requested ids are set aside)."""

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import auth
from tests.fixtures.dataset import DEVICES, FLEETS, LOCATIONS, SESSIONS, TOKEN_SUBJECTS, visible_to
from tests.graphql.helpers import global_id

SUBJECTS = ["anonymous", "user_a", "user_b", "operator_x", "operator_f", "admin"]
MISSING = uuid.UUID("00000000-0000-4000-8000-00000000dead")
BY_ID = {s.id: s for s in SESSIONS}
OPEN = {"active": 0, "booked": 1}


def visible(subject: str) -> set[uuid.UUID]:
    return set() if subject == "anonymous" else visible_to(subject)


def headers_of(subject: str, tokens: dict[str, str]) -> dict[str, str]:
    return {} if subject == "anonymous" else auth(tokens[subject])


def normalized(response: httpx.Response, *ids: uuid.UUID) -> tuple[Any, ...]:
    """What a client can observe, minus the correlation id and the ids it asked about."""
    text = response.text.replace(response.headers.get("x-correlation-id", "~"), "<correlation>")
    for n, id_ in enumerate(ids):
        text = text.replace(str(id_), f"<id{n}>")
    kept = {name: response.headers.get(name) for name in ("content-type", "deprecation", "link")}
    return response.status_code, text, kept


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


def rest_ids(response: httpx.Response) -> list[uuid.UUID]:
    assert response.status_code == 200, response.text
    return [uuid.UUID(item["id"]) for item in response.json()["data"]]


# REST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("active", ["false", "true"])
async def test_rest_v1_list_has_exactly_the_visible_parking_sessions(
    client, tokens, subject, active
):
    url = f"/session/v1/device-sessions?page_size=1000&active={active}"
    response = await client.get(url, headers=headers_of(subject, tokens))
    if subject == "anonymous":
        return assert_unauthorized(response)
    status = "active" if active == "true" else "ended"
    expected = {s.id for s in SESSIONS if s.kind == "parking" and s.status == status} & visible(
        subject
    )
    ids = rest_ids(response)
    assert len(ids) == len(set(ids)) and set(ids) == expected


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_rest_v1_session_answers_hidden_exactly_as_missing(client, tokens, subject):
    headers = headers_of(subject, tokens)
    missing = await client.get(f"/session/v1/device-sessions/{MISSING}", headers=headers)
    for session in SESSIONS:
        response = await client.get(f"/session/v1/device-sessions/{session.id}", headers=headers)
        if subject == "anonymous":
            assert_unauthorized(response)
        elif session.id in visible(subject) and session.kind == "parking":
            assert response.status_code == 200 and response.json()["id"] == str(session.id)
        else:
            assert response.status_code == 404
            assert normalized(response, session.id) == normalized(missing, MISSING)


def current_parking_session(device_id: uuid.UUID, subject: str) -> uuid.UUID | None:
    """The documented answer of /devices/{id}/sessions: open first, else the newest."""
    candidates = [
        s
        for s in SESSIONS
        if s.kind == "parking" and s.device == device_id and s.id in visible(subject)
    ]
    candidates.sort(key=lambda s: (OPEN.get(s.status, 2), -s.reference.timestamp(), str(s.id)))
    return candidates[0].id if candidates else None


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_rest_v1_device_session_is_the_visible_current_or_latest_one(client, tokens, subject):
    headers = headers_of(subject, tokens)
    never_used = await client.get(f"/session/v1/devices/{DEVICES[2][0]}/sessions", headers=headers)
    for device_id, *_ in DEVICES:
        response = await client.get(f"/session/v1/devices/{device_id}/sessions", headers=headers)
        if subject == "anonymous":
            assert_unauthorized(response)
            continue
        expected = current_parking_session(device_id, subject)
        if expected is None:
            # A device whose sessions are all hidden looks like one that never had any.
            assert response.status_code == 404
            assert normalized(response, device_id) == normalized(never_used, DEVICES[2][0])
        else:
            assert response.status_code == 200 and response.json()["id"] == str(expected)
    unknown = await client.get(f"/session/v1/devices/{MISSING}/sessions", headers=headers)
    assert unknown.status_code == (401 if subject == "anonymous" else 404)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_rest_v2_list_has_exactly_the_visible_sessions_on_every_page(client, tokens, subject):
    headers = headers_of(subject, tokens)
    whole = await client.get("/session/v2/sessions?limit=1000", headers=headers)
    if subject == "anonymous":
        return assert_unauthorized(whole)
    assert set(rest_ids(whole)) == visible(subject)
    paged: list[uuid.UUID] = []
    url = "/session/v2/sessions?limit=2"
    while True:
        page = await client.get(url, headers=headers)
        paged += rest_ids(page)
        token = page.json()["pagination_token"]
        if token is None:
            break
        url = f"/session/v2/sessions?limit=2&pagination_token={token}"
    assert len(paged) == len(set(paged)) and set(paged) == visible(subject)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_rest_v2_user_session_answers_hidden_exactly_as_missing(client, tokens, subject):
    headers = headers_of(subject, tokens)
    users = sorted({s.user_id for s in SESSIONS})
    missing = await client.get(f"/session/v2/users/{users[0]}/sessions/{MISSING}", headers=headers)
    for session in SESSIONS:
        for user_id in users:
            url = f"/session/v2/users/{user_id}/sessions/{session.id}"
            response = await client.get(url, headers=headers)
            if subject == "anonymous":
                assert_unauthorized(response)
            elif user_id == session.user_id and session.id in visible(subject):
                assert response.status_code == 200 and response.json()["id"] == str(session.id)
            else:
                assert response.status_code == 404
                normal = normalized(response, user_id, session.id)
                assert normal == normalized(missing, users[0], MISSING)


# GraphQL ------------------------------------------------------------------------------

SESSION_FIELDS = """__typename uuid userId
  details {
    ... on StorageDetails { location { uuid } device { uuid currentSession { __typename uuid } } }
    ... on TravelDetails {
      startLocation { uuid } endLocation { uuid } rentalFleet { uuid }
      rentalDevice { uuid currentSession { __typename uuid } }
    }
  }
  auxiliaryDevices { uuid currentSession { __typename uuid } }"""
NESTED = "sessions(first: 100) { nodes { __typename uuid } }"
NODE = f"""query($id: ID!) {{ node(id: $id) {{ __typename id
  ... on Session {{ {SESSION_FIELDS} }}
  ... on Location {{ uuid {NESTED} }}
  ... on Fleet {{ uuid {NESTED} }}
  ... on Device {{ uuid currentSession {{ __typename uuid }} {NESTED} }}
}} }}"""
LIST = f"""query($after: String, $first: Int) {{ sessions(first: $first, after: $after) {{
  nodes {{ {SESSION_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
CATALOG = f"""{{
  locations(first: 100) {{ nodes {{ uuid {NESTED} devices(first: 20) {{ nodes {{ uuid }} }} }} }}
  fleets(first: 100) {{ nodes {{ uuid {NESTED} devices(first: 20) {{ nodes {{ uuid }} }} }} }}
  devices(first: 100) {{ nodes {{ uuid currentSession {{ __typename uuid }} {NESTED} }} }}
}}"""


def sessions_in(body: Any) -> set[uuid.UUID]:
    """Every Session anywhere in a GraphQL response."""
    found: set[uuid.UUID] = set()
    if isinstance(body, dict):
        if body.get("__typename") == "Session":
            found.add(uuid.UUID(body["uuid"]))
        for value in body.values():
            found |= sessions_in(value)
    elif isinstance(body, list):
        for item in body:
            found |= sessions_in(item)
    return found


async def graphql(client, subject, tokens, query, **variables) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=headers_of(subject, tokens),
    )
    if subject == "anonymous":
        assert_unauthorized(response)
        return {}
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    assert sessions_in(body) <= visible(subject), "a hidden session leaked"
    return body


def ids(nodes: list[dict[str, Any]]) -> set[uuid.UUID]:
    return {uuid.UUID(n["uuid"]) for n in nodes}


def expected_on(device_id: uuid.UUID, subject: str) -> set[uuid.UUID]:
    return {s.id for s in SESSIONS if s.device == device_id} & visible(subject)


def expected_at(location_id: uuid.UUID, subject: str) -> set[uuid.UUID]:
    places = {s.id for s in SESSIONS if location_id in (s.location, s.travel_start, s.travel_end)}
    return places & visible(subject)


def expected_in(fleet_id: uuid.UUID, subject: str) -> set[uuid.UUID]:
    return {s.id for s in SESSIONS if s.fleet == fleet_id} & visible(subject)


def open_session_on(device_id: uuid.UUID, subject: str) -> uuid.UUID | None:
    found = [s.id for s in SESSIONS if s.device == device_id and s.status in OPEN]
    return found[0] if found and found[0] in visible(subject) else None


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_viewer_describes_each_caller(client, tokens, subject):
    body = await graphql(client, subject, tokens, "{ viewer { role userId locationIds fleetIds } }")
    if subject == "anonymous":
        return
    rules = TOKEN_SUBJECTS[subject]
    assert body["data"]["viewer"] == {
        "role": rules["role"].value,
        "userId": str(rules["user_id"]) if "user_id" in rules else None,
        "locationIds": [str(i) for i in rules.get("location_ids", [])],
        "fleetIds": [str(i) for i in rules.get("fleet_ids", [])],
    }


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_sessions_has_exactly_the_visible_sessions_on_every_page(
    client, tokens, subject
):
    whole = await graphql(client, subject, tokens, LIST, first=100)
    if subject == "anonymous":
        return
    assert ids(whole["data"]["sessions"]["nodes"]) == visible(subject)
    paged: list[uuid.UUID] = []
    after = None
    while True:
        page = (await graphql(client, subject, tokens, LIST, first=2, after=after))["data"]
        paged += [uuid.UUID(n["uuid"]) for n in page["sessions"]["nodes"]]
        if not page["sessions"]["pageInfo"]["hasNextPage"]:
            break
        after = page["sessions"]["pageInfo"]["endCursor"]
    assert len(paged) == len(set(paged)) and set(paged) == visible(subject)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_session_nodes_answer_hidden_exactly_as_missing(client, tokens, subject):
    missing = await graphql(client, subject, tokens, NODE, id=global_id("Session", MISSING))
    for session in SESSIONS:
        body = await graphql(client, subject, tokens, NODE, id=global_id("Session", session.id))
        if subject == "anonymous":
            continue
        if session.id in visible(subject):
            assert body["data"]["node"]["uuid"] == str(session.id)
        else:
            assert body == missing == {**missing, "data": {"node": None}}


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_nodes_returns_null_exactly_where_hidden_or_missing(client, tokens, subject):
    wanted = [s.id for s in SESSIONS] + [MISSING]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Session { uuid } } }"
    body = await graphql(
        client, subject, tokens, query, ids=[global_id("Session", i) for i in wanted]
    )
    if subject == "anonymous":
        return
    got = [n and uuid.UUID(n["uuid"]) for n in body["data"]["nodes"]]
    assert got == [i if i in visible(subject) else None for i in wanted]


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_catalog_is_whole_and_its_session_lists_are_filtered(client, tokens, subject):
    body = await graphql(client, subject, tokens, CATALOG)
    if subject == "anonymous":
        return
    data = body["data"]
    locations = {uuid.UUID(n["uuid"]): n for n in data["locations"]["nodes"]}
    assert set(locations) == {i for i, *_ in LOCATIONS}
    for location_id, node in locations.items():
        assert ids(node["sessions"]["nodes"]) == expected_at(location_id, subject)
        assert ids(node["devices"]["nodes"]) == {
            d for d, _, _, loc, _ in DEVICES if loc == location_id
        }
    fleets = {uuid.UUID(n["uuid"]): n for n in data["fleets"]["nodes"]}
    assert set(fleets) == {i for i, _ in FLEETS}
    for fleet_id, node in fleets.items():
        assert ids(node["sessions"]["nodes"]) == expected_in(fleet_id, subject)
        assert ids(node["devices"]["nodes"]) == {d for d, _, _, _, fl in DEVICES if fl == fleet_id}
    devices = {uuid.UUID(n["uuid"]): n for n in data["devices"]["nodes"]}
    assert set(devices) == {i for i, *_ in DEVICES}
    for device_id, node in devices.items():
        assert ids(node["sessions"]["nodes"]) == expected_on(device_id, subject)
        current = node["currentSession"] and uuid.UUID(node["currentSession"]["uuid"])
        assert current == open_session_on(device_id, subject)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_catalog_nodes_resolve_for_everyone_with_filtered_sessions(
    client, tokens, subject
):
    nodes = [("Location", i, expected_at) for i, *_ in LOCATIONS]
    nodes += [("Fleet", i, expected_in) for i, _ in FLEETS]
    nodes += [("Device", i, expected_on) for i, *_ in DEVICES]
    for type_name, id_, expected in nodes:
        body = await graphql(client, subject, tokens, NODE, id=global_id(type_name, id_))
        if subject == "anonymous":
            continue
        node = body["data"]["node"]
        assert node["__typename"] == type_name and node["uuid"] == str(id_)
        assert ids(node["sessions"]["nodes"]) == expected(id_, subject)
    gone = await graphql(client, subject, tokens, NODE, id=global_id("Device", MISSING))
    if subject != "anonymous":
        assert gone["data"] == {"node": None}


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_graphql_statistics_and_occupancy_count_exactly_the_visible_sessions(
    client, tokens, subject
):
    query = """{ sessionStats(groupBy: [USER, DEVICE]) { userId device { uuid } count }
      locations { nodes { uuid occupancy { occupied } } } }"""
    body = await graphql(client, subject, tokens, query)
    if subject == "anonymous":
        return
    seen = visible(subject)
    groups: dict[tuple[str, str], int] = {}
    for s in SESSIONS:
        if s.id in seen:
            key = (str(s.user_id), str(s.device))
            groups[key] = groups.get(key, 0) + 1
    answered = {
        (g["userId"], g["device"]["uuid"]): g["count"] for g in body["data"]["sessionStats"]
    }
    assert answered == groups
    for node in body["data"]["locations"]["nodes"]:
        active = {
            s.device
            for s in SESSIONS
            if s.id in seen and s.status == "active" and str(s.location) == node["uuid"]
        }
        assert node["occupancy"]["occupied"] == len(active), node


def test_the_matrix_covers_every_query_root_field_and_node_type():
    """A new root field or node type must be added to this matrix (and to the docs)."""
    from gateway.graphql.schema import schema

    graphql_schema = schema._schema
    covered = {
        "node",
        "nodes",
        "viewer",
        "sessions",
        "sessionStats",
        "locations",
        "fleets",
        "devices",
    }
    assert set(graphql_schema.query_type.fields) == covered
    node_types = {
        t.name
        for t in graphql_schema.type_map.values()
        if any(i.name == "Node" for i in getattr(t, "interfaces", ()))
    }
    assert node_types == {"Session", "Location", "Fleet", "Device"}
    assert re.search(r"\.\.\. on Session", NODE) and re.search(r"\.\.\. on Device", NODE)
