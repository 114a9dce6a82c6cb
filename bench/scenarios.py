"""The requests of each scenario, for the gateway and for its peers, and their checks."""

import base64
from datetime import date, timedelta
from typing import Any

from bench.documents import (
    DAILY_STATS,
    FRONTEND_LIST,
    FRONTEND_LIST_POSTGRAPHILE,
    LAST_REFERENCE,
    NODE,
    NODE_POSTGRAPHILE,
    ORDERED_PAGE,
    ORDERED_WALK,
    THREE_LEVELS,
    THREE_LEVELS_POSTGRAPHILE,
    TOTAL_COUNT,
    TOTAL_COUNT_ESTIMATE,
)
from bench.loadgen import Request


def graphql(query: str, variables: dict[str, Any]) -> Request:
    return Request("POST", "/graphql", {"query": query, "variables": variables})


def frontend_list(location_id: str) -> Request:
    return graphql(FRONTEND_LIST, {"location": location_id})


def frontend_list_postgraphile(location_id: str) -> Request:
    return graphql(FRONTEND_LIST_POSTGRAPHILE, {"location": location_id})


THREE_LEVELS_REQUEST = graphql(THREE_LEVELS, {})


def last_reference(location_id: str) -> Request:
    return graphql(LAST_REFERENCE, {"location": location_id})


def daily_stats(location_id: str, last_reference_time: str) -> Request:
    """(i): the 30 UTC days up to the location's newest session, bucketed by local day."""
    last = date.fromisoformat(last_reference_time[:10])
    first = last - timedelta(days=29)
    return graphql(
        DAILY_STATS, {"location": location_id, "from": first.isoformat(), "to": last.isoformat()}
    )


THREE_LEVELS_POSTGRAPHILE_REQUEST = graphql(THREE_LEVELS_POSTGRAPHILE, {})


def global_id(type_name: str, uuid: str) -> str:
    """A Relay global id as Strawberry makes them: base64 of ``Type:id``."""
    return base64.b64encode(f"{type_name}:{uuid}".encode()).decode()


def node(session_id: str) -> Request:
    return graphql(NODE, {"id": global_id("Session", session_id)})


def node_postgraphile(session_id: str) -> Request:
    return graphql(NODE_POSTGRAPHILE, {"id": session_id})


END = """
mutation End($session: UUID!) {
  endSession(sessionId: $session) { ... on Session { uuid } ... on OperationError { code } }
}
"""


def end(session_id: str) -> Request:
    return graphql(END, {"session": session_id})


V2_LIST = Request("GET", "/session/v2/sessions?limit=100")
V1_LIST = Request("GET", "/session/v1/device-sessions?page_size=100")


# (e) pages through the ended sessions: the first page and a deep one hold the same kind
# of rows (the unfiltered list starts with pending, booked and active sessions, which
# have fewer events), so only the depth differs.
ENDED = "/session/v2/sessions?status=ended"


def ended_page(limit: int = 100, token: str | None = None) -> Request:
    path = f"{ENDED}&limit={limit}"
    return Request("GET", path + (f"&pagination_token={token}" if token else ""))


# (o) pages through the ended sessions earliest end first: the first page, and a deep one
# by a cursor found by walking the list (ORDERED_WALK, 100 a page, cursors only).
def ordered_page(after: str | None = None) -> Request:
    return graphql(ORDERED_PAGE, {"after": after})


def ordered_walk(after: str | None = None) -> Request:
    return graphql(ORDERED_WALK, {"after": after})


TOTAL_COUNT_REQUEST = graphql(TOTAL_COUNT, {})
TOTAL_COUNT_ESTIMATE_REQUEST = graphql(TOTAL_COUNT_ESTIMATE, {})


# -- checks: each returns a problem, or None when the answer is what it should be


def check_graphql(answer: dict[str, Any]) -> str | None:
    if answer.get("errors"):
        return f"GraphQL errors: {answer['errors']!r:.300}"
    return None


def frontend_ids(answer: dict[str, Any]) -> list[str]:
    return [n["uuid"] for n in answer["data"]["sessions"]["nodes"]]


def postgraphile_ids(answer: dict[str, Any]) -> list[str]:
    return [n["rowId"] for n in answer["data"]["benchPeerSessionsAtLocation"]["nodes"]]


def three_levels_locations(answer: dict[str, Any]) -> list[str]:
    """(h): the location names the gateway lists, in order."""
    return [n["name"] for n in answer["data"]["locations"]["nodes"]]


def three_levels_locations_postgraphile(answer: dict[str, Any]) -> list[str]:
    return [n["name"] for n in answer["data"]["allLocations"]["nodes"]]


def three_levels_devices(answer: dict[str, Any]) -> list[list[Any]]:
    """(h): per location, each device's name and the uuid of its current session (or None)."""
    return [
        [[d["name"], (d["currentSession"] or {}).get("uuid")] for d in location["devices"]["nodes"]]
        for location in answer["data"]["locations"]["nodes"]
    ]


def three_levels_devices_postgraphile(answer: dict[str, Any]) -> list[list[Any]]:
    def current(device: dict[str, Any]) -> str | None:
        sessions = device["booked"]["nodes"] + device["active"]["nodes"]
        return sessions[0]["rowId"] if sessions else None

    return [
        [[d["name"], current(d)] for d in location["devicesByLocationId"]["nodes"]]
        for location in answer["data"]["allLocations"]["nodes"]
    ]


def compare(name: str, expected: Any, actual: Any) -> str | None:
    """None when equal, else where the first difference is."""
    if expected == actual:
        return None
    return f"{name}: {_first_difference(expected, actual)}"


def _first_difference(a: Any, b: Any, path: str = "$") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() | b.keys():
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items against {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{index}]")
    return f"{path}: {a!r:.120} against {b!r:.120}"


def check_ordered_page(answer: dict[str, Any], size: int = 50) -> str | None:
    """A full page of ended sessions, earliest end first."""
    problem = check_graphql(answer)
    if problem:
        return problem
    nodes = answer["data"]["sessions"]["nodes"]
    ends = [node["endTime"] for node in nodes]
    if len(nodes) != size:
        return f"{len(nodes)} sessions, not {size}"
    if any(node["status"] != "ENDED" for node in nodes) or ends != sorted(ends):
        return "not ended sessions in end time order"
    return None


def check_count(answer: dict[str, Any], field: str, expected: int, tolerance: float) -> str | None:
    """A count within ``tolerance`` (a fraction) of the sessions seeded."""
    problem = check_graphql(answer)
    if problem:
        return problem
    count = answer["data"]["sessions"][field]
    if abs(count - expected) > tolerance * expected:
        return f"{field} {count:,} for {expected:,} sessions"
    return None
