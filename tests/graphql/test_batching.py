"""Every nested look-up is batched: the statements a query costs do not grow with page size."""

from collections.abc import AsyncIterator

import pytest

from storage.database import READS_BY_PATH
from tests.conftest import Bulk, StatementCounter, in_process_client, running_app
from tests.graphql.helpers import data

EVERYTHING = """query($first: Int) { sessions(first: $first) {
  edges { cursor node {
    id uuid kind status userId accessKeyId createdAt updatedAt bookedTime bookedUntilTime
    startTime endTime uri fee { currency value } payment { id status } rating { rating comment }
    events { name timestamp }
    auxiliaryDevices { uuid kind name location { uuid name } }
    details {
      __typename
      ... on StorageDetails {
        location { id uuid name timeZone }
        device { id uuid kind name location { uuid name } currentSession { uuid } }
      }
      ... on TravelDetails {
        secondsActive secondsPaused batteryUsed distanceTravelled
        startLocation { uuid name } endLocation { uuid name }
        rentalDevice { id uuid kind name fleet { uuid name } currentSession { uuid } }
        rentalFleet { uuid name }
      }
    }
  } }
  pageInfo { hasNextPage endCursor }
} }"""

CATALOG = """query($first: Int) { devices(first: $first) { nodes {
  uuid location { name } fleet { name } currentSession { uuid }
  sessions(first: 5) { nodes { uuid events { name } } }
} } }"""


async def statements_for(bulk, query, first, *, checks=False):
    """The statements a read costs once warm (its statements seen and compiled).

    With ``checks``, a token check that rode along a read counts as one more.
    """
    await data(bulk.client, bulk.admin_token, query, first=first)
    carried = READS_BY_PATH["carried"]
    with bulk.statements.counting() as counter:
        result = await data(bulk.client, bulk.admin_token, query, first=first)
    return counter.count + (READS_BY_PATH["carried"] - carried if checks else 0), result


async def test_the_sessions_connection_costs_the_same_at_10_and_100(bulk):
    small, small_result = await statements_for(bulk, EVERYTHING, 10)
    large, large_result = await statements_for(bulk, EVERYTHING, 100)
    assert len(small_result["sessions"]["edges"]) == 10
    assert len(large_result["sessions"]["edges"]) == 100
    kinds = {edge["node"]["details"]["__typename"] for edge in large_result["sessions"]["edges"]}
    assert kinds == {"StorageDetails", "TravelDetails"}
    assert small == large
    assert large <= 8, f"{large} statements"


async def test_nested_lists_under_a_catalog_list_are_batched(bulk):
    small, small_result = await statements_for(bulk, CATALOG, 5)
    large, large_result = await statements_for(bulk, CATALOG, 25)
    assert len(small_result["devices"]["nodes"]) == 5
    assert len(large_result["devices"]["nodes"]) == 25
    # token, devices, locations, fleets, open sessions, nested sessions, their events
    assert small == large
    assert large <= 7, f"{large} statements"


PARENTS = """query($first: Int) {
  locations(first: $first) {
    nodes { devices(first: 3) { nodes { uuid } pageInfo { hasNextPage } } }
  }
  fleets(first: $first) { nodes { devices(first: 3) { nodes { uuid } } } }
}"""


async def test_device_lists_under_locations_and_fleets_are_batched(bulk):
    one, _ = await statements_for(bulk, PARENTS, 1)
    several, result = await statements_for(bulk, PARENTS, 5)
    assert len(result["locations"]["nodes"]) > 1
    assert all(len(n["devices"]["nodes"]) <= 3 for n in result["locations"]["nodes"])
    assert one == several, f"{one} statements for 1 parent, {several} for several"


_SESSION_FIELDS = """
  id uuid status startTime endTime fee { currency value }
  details {
    ... on StorageDetails { location { name timeZone } device { uuid name kind } }
    ... on TravelDetails {
      startLocation { name } endLocation { name } rentalDevice { name } rentalFleet { name }
    }
  }
  events { name timestamp }
"""
FRONTEND = (
    f"""query($first: Int) {{ sessions(first: $first) {{ nodes {{ {_SESSION_FIELDS} }} }} }}"""
)
BY_ID = (
    f"""query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Session {{ {_SESSION_FIELDS} }} }} }}"""
)


async def test_a_page_brings_its_events_and_references_in_its_own_statement(bulk):
    count, result = await statements_for(bulk, FRONTEND, 100)
    # The page, nothing per relation; and the token check, which rides along (on SQLite
    # beside the packed page).
    assert count == 1
    nodes = result["sessions"]["nodes"]
    assert {bool(n["details"].get("rentalFleet")) for n in nodes} == {True, False}
    # The same sessions through the loaders, one look-up per relation, read the same.
    by_id = await data(bulk.client, bulk.admin_token, BY_ID, ids=[n["id"] for n in nodes])
    assert by_id["nodes"] == nodes


# Every field of a session and of what it refers to.
_EVERY_SESSION_FIELD = """
  id uuid kind status userId accessKeyId createdAt updatedAt bookedTime bookedUntilTime
  startTime endTime uri fee { currency value } payment { id status } rating { rating comment }
  events { name timestamp }
  auxiliaryDevices { id uuid kind name }
  details {
    __typename
    ... on StorageDetails { location { id uuid name timeZone } device { id uuid kind name } }
    ... on TravelDetails {
      secondsActive secondsPaused batteryUsed distanceTravelled
      startLocation { id uuid name timeZone } endLocation { id uuid name timeZone }
      rentalDevice { id uuid kind name } rentalFleet { id uuid name }
    }
  }
"""
EVERY_FIELD_LIST = f"""query($first: Int) {{
  sessions(first: $first) {{ edges {{ cursor node {{ {_EVERY_SESSION_FIELD} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }}"""
EVERY_FIELD_NODE = (
    f"""query($id: ID!) {{ node(id: $id) {{ ... on Session {{ {_EVERY_SESSION_FIELD} }} }} }}"""
)


async def test_a_list_with_every_session_field_is_at_most_three_statements(bulk):
    small, _ = await statements_for(bulk, EVERY_FIELD_LIST, 10)
    large, result = await statements_for(bulk, EVERY_FIELD_LIST, 100)
    nodes = [edge["node"] for edge in result["sessions"]["edges"]]
    assert len(nodes) == 100
    assert any(n["auxiliaryDevices"] for n in nodes)
    assert {n["details"]["__typename"] for n in nodes} == {"StorageDetails", "TravelDetails"}
    # the token, the page with its events and references, the auxiliary devices
    assert small == large <= 3, f"{small} statements at 10, {large} at 100"


async def test_a_node_with_every_field_is_at_most_three_statements(bulk):
    _, page = await statements_for(bulk, EVERY_FIELD_LIST, 100)
    nodes = [edge["node"] for edge in page["sessions"]["edges"]]
    for node in (next(n for n in nodes if n["auxiliaryDevices"]), nodes[0], nodes[-1]):
        with bulk.statements.counting() as counter:
            result = await data(bulk.client, bulk.admin_token, EVERY_FIELD_NODE, id=node["id"])
        assert result["node"] == node
        assert counter.count <= 3, f"{counter.count} statements"


@pytest.fixture(params=["planned", "reference"])
async def lane(request: pytest.FixtureRequest, bulk: Bulk) -> AsyncIterator[Bulk]:
    """The bulk database through the gateway as it serves, and through its reference path."""
    if request.param == "planned":
        yield bulk
        return
    async with (
        running_app(bulk.url, graphql_planner=False) as app,
        in_process_client(app) as client,
    ):
        counter = StatementCounter(app.state.gateway.engine)
        yield Bulk(bulk.backend, client, counter, bulk.admin_token, bulk.url)


ORDERED = """query($first: Int) { sessions(first: $first, orderBy: [FEE_DESC]) {
  %s nodes { uuid fee { value } } } }"""


async def test_a_count_adds_one_statement_whatever_the_page_size(lane):
    costs = {}
    for first in (10, 100):
        for counted in ("", "totalCount"):
            # The token check counted once wherever it goes: on its own, or along a read
            # (the first on PostgreSQL, the first packed one on SQLite: here the count,
            # on the reference lane, whose page shows reals and is read row by row).
            costs[first, counted], result = await statements_for(
                lane, ORDERED % counted, first, checks=True
            )
            assert len(result["sessions"]["nodes"]) == first
            if counted:
                assert result["sessions"]["totalCount"] == 400
    assert costs[10, ""] == costs[100, ""]
    assert costs[10, "totalCount"] == costs[100, "totalCount"] == costs[10, ""] + 1


NESTED_COUNTS = """query($first: Int) {
  locations(first: $first) { %s nodes {
    sessions(first: 3, orderBy: [END_TIME_ASC]) { %s nodes { uuid } }
    devices(first: 2) { %s nodes { uuid } } } }
  fleets(first: $first) { nodes { sessions(first: 2, orderBy: [START_TIME_DESC]) { %s } } }
}"""


async def test_nested_counts_are_one_statement_each_whatever_the_number_of_parents(lane):
    counted = NESTED_COUNTS % (("totalCount",) * 3 + ("totalCount nodes { uuid }",))
    plain = NESTED_COUNTS % ("", "", "", "nodes { uuid }")
    one, _ = await statements_for(lane, counted, 1)
    several, result = await statements_for(lane, counted, 8)
    without, _ = await statements_for(lane, plain, 8)
    locations = result["locations"]["nodes"]
    assert len(locations) == 8
    assert sum(location["sessions"]["totalCount"] for location in locations) > 0
    assert all(location["devices"]["totalCount"] >= 1 for location in locations)
    assert one == several, f"{one} statements for 1 parent, {several} for 8"
    # the locations' count, their sessions' counts, their devices' counts, the fleets'
    assert several == without + 4, f"{several} statements with counts, {without} without"
