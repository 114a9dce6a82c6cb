"""Relay nodes and the catalog: global ids, hidden-as-missing, relations, nested lists."""

import base64
import uuid

import pytest

from tests.fixtures.dataset import (
    DEVICES,
    DOCK_X,
    EBIKE_F,
    FLEET_F,
    LOC_X,
    LOCATIONS,
    SESSIONS,
    UNUSED_ID,
    USER_A,
)
from tests.graphql.helpers import data, global_id, gql

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Session { uuid status }
  ... on Device { uuid kind location { uuid } fleet { uuid } currentSession { uuid } }
  ... on Location { uuid name timeZone }
  ... on Fleet { uuid name }
} }"""


@pytest.mark.parametrize(
    ("type_name", "id_"),
    [("Session", SESSIONS[0].id), ("Device", DOCK_X), ("Location", LOC_X), ("Fleet", FLEET_F)],
)
async def test_node_resolves_every_node_type_by_global_id(client, tokens, type_name, id_):
    node = (await data(client, tokens["admin"], NODE, id=global_id(type_name, id_)))["node"]
    assert node["__typename"] == type_name
    assert node["uuid"] == str(id_)
    assert node["id"] == global_id(type_name, id_)


async def test_a_hidden_session_resolves_exactly_like_a_missing_one(client, tokens):
    hidden = global_id("Session", SESSIONS[0].id)  # user A's session
    missing = global_id("Session", UNUSED_ID)
    as_b_hidden = await gql(client, tokens["user_b"], NODE, id=hidden)
    as_b_missing = await gql(client, tokens["user_b"], NODE, id=missing)
    assert as_b_hidden == as_b_missing  # the whole body, cost extension included
    assert as_b_hidden["data"] == {"node": None} and "errors" not in as_b_hidden
    mine = await data(client, tokens["user_a"], NODE, id=hidden)
    assert mine["node"]["uuid"] == str(SESSIONS[0].id)


async def test_nodes_keeps_the_order_of_the_ids_with_null_for_missing(client, tokens):
    ids = [
        global_id("Session", SESSIONS[2].id),
        global_id("Session", UNUSED_ID),
        global_id("Location", LOC_X),
        global_id("Session", SESSIONS[0].id),
    ]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    nodes = (await data(client, tokens["admin"], query, ids=ids))["nodes"]
    assert [n and n["id"] for n in nodes] == [ids[0], None, ids[2], ids[3]]


async def test_a_device_knows_its_place_and_its_open_session(client, tokens):
    node = (await data(client, tokens["admin"], NODE, id=global_id("Device", DOCK_X)))["node"]
    assert node["location"] == {"uuid": str(LOC_X)}
    assert node["fleet"] is None
    assert node["currentSession"] == {"uuid": str(SESSIONS[1].id)}
    vehicle = (await data(client, tokens["admin"], NODE, id=global_id("Device", EBIKE_F)))["node"]
    assert vehicle["fleet"] == {"uuid": str(FLEET_F)} and vehicle["location"] is None
    assert vehicle["currentSession"] is None  # only a pending session is on it


async def test_a_hidden_current_session_is_null(client, tokens):
    node = (await data(client, tokens["user_b"], NODE, id=global_id("Device", DOCK_X)))["node"]
    assert node["currentSession"] is None


CATALOG = """{
  locations(first: 100) { nodes { uuid name
    devices(first: 100) { nodes { uuid } }
    sessions(first: 3) { nodes { uuid } pageInfo { hasNextPage } } } }
  fleets(first: 100) { nodes { uuid sessions(first: 100) { nodes { uuid } } } }
  devices(first: 100, filter: {kind: E_BIKE}) { nodes { uuid kind } }
}"""


async def test_catalog_lists_with_nested_devices_and_sessions(client, tokens):
    result = await data(client, tokens["admin"], CATALOG)
    locations = {n["uuid"]: n for n in result["locations"]["nodes"]}
    assert set(locations) == {str(i) for i, *_ in LOCATIONS}
    x = locations[str(LOC_X)]
    assert {d["uuid"] for d in x["devices"]["nodes"]} == {
        str(i) for i, _, _, loc, _ in DEVICES if loc == LOC_X
    }
    at_x = sorted(
        (s for s in SESSIONS if LOC_X in (s.location, s.travel_start, s.travel_end)),
        key=lambda s: (s.reference, s.id),
        reverse=True,
    )
    assert [n["uuid"] for n in x["sessions"]["nodes"]] == [str(s.id) for s in at_x[:3]]
    assert x["sessions"]["pageInfo"]["hasNextPage"] is True
    fleet_f = next(n for n in result["fleets"]["nodes"] if n["uuid"] == str(FLEET_F))
    assert {n["uuid"] for n in fleet_f["sessions"]["nodes"]} == {
        str(s.id) for s in SESSIONS if s.fleet == FLEET_F
    }
    assert {n["kind"] for n in result["devices"]["nodes"]} == {"E_BIKE"}


async def test_nested_session_lists_follow_the_callers_visibility(client, tokens):
    result = await data(client, tokens["user_a"], CATALOG)
    nested = [
        n["uuid"]
        for location in result["locations"]["nodes"]
        for n in location["sessions"]["nodes"]
    ]
    assert nested
    assert {uuid.UUID(i) for i in nested} <= {s.id for s in SESSIONS if s.user_id == USER_A}


async def test_nested_session_lists_page_with_cursors(client, tokens):
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Location {
      sessions(first: 2, after: $after) {
        nodes { uuid } pageInfo { hasNextPage endCursor } } } } }"""
    seen, after = [], None
    while True:
        page = await data(
            client, tokens["admin"], query, id=global_id("Location", LOC_X), after=after
        )
        sessions = page["node"]["sessions"]
        seen += [n["uuid"] for n in sessions["nodes"]]
        if not sessions["pageInfo"]["hasNextPage"]:
            break
        after = sessions["pageInfo"]["endCursor"]
    expected = sorted(
        (s for s in SESSIONS if LOC_X in (s.location, s.travel_start, s.travel_end)),
        key=lambda s: (s.reference, s.id),
        reverse=True,
    )
    assert seen == [str(s.id) for s in expected]


async def test_viewer_describes_the_token(client, tokens):
    viewer = await data(client, tokens["operator_x"], "{ viewer { role locationIds fleetIds } }")
    assert viewer["viewer"] == {"role": "operator", "locationIds": [str(LOC_X)], "fleetIds": []}


NOT_NODES = ["Viewer:1", "Query:", "OperationError:", "Nope:", "Session:", "Location:42"]


@pytest.mark.parametrize("raw", NOT_NODES)
async def test_an_id_naming_no_node_finds_nothing_like_a_missing_one(client, tokens, raw):
    id_ = base64.b64encode(raw.encode()).decode()
    body = await gql(client, tokens["admin"], "query($id: ID!) { node(id: $id) { id } }", id=id_)
    assert body == {
        "data": {"node": None},
        "extensions": {"cost": {"requested": 1, "actual": 0, "maximum": 50000}},
    }
    ids = [id_, global_id("Location", LOC_X)]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    nodes = (await data(client, tokens["admin"], query, ids=ids))["nodes"]
    assert nodes == [None, {"id": ids[1]}]
