"""The requests of each scenario, for the gateway and for its peers, and their checks."""

import base64
from typing import Any

from bench.loadgen import Request

FRONTEND_LIST = """
query FrontendList($location: UUID!) {
  sessions(first: 50, filter: {status: [ENDED], locationId: $location}) {
    nodes {
      uuid status startTime endTime
      fee { currency value }
      details { ... on StorageDetails { location { name } device { name kind } } }
      events { name timestamp }
    }
  }
}
"""

# PostGraphile's equivalent: the same filter through a SQL function (bench_peer), the same
# order, and the same related rows through its own relations. Money comes as minor units
# and enums as stored, the only differences in shape.
FRONTEND_LIST_POSTGRAPHILE = """
query FrontendList($location: UUID!) {
  benchPeerSessionsAtLocation(locationId: $location, status: "ended", page: 50, first: 50) {
    nodes {
      rowId status startTime endTime feeCurrency feeMinor
      locationByStorageLocationId { name }
      deviceByStorageDeviceId { name kind }
      sessionEventsBySessionId(orderBy: [TIMESTAMP_ASC, ROW_ID_ASC]) {
        nodes { name timestamp }
      }
    }
  }
}
"""

# (h), which the planner was not tuned to: three levels of the catalog down to events.
THREE_LEVELS = """
query ThreeLevels {
  locations(first: 20) {
    nodes {
      name
      devices(first: 10) {
        nodes { name currentSession { uuid status events { name timestamp } } }
      }
    }
  }
}
"""

# PostGraphile's closest equivalent of (h): the same two levels ordered by id, and the
# device's booked or active session as two aliased lists of its parking sessions, one per
# status (its `condition` only tests equality; a parking device has at most one open
# session, a unique index says so, so together they hold the gateway's currentSession).
_PG_OPEN = """{
            nodes {
              rowId status
              sessionEventsBySessionId(orderBy: [TIMESTAMP_ASC, ROW_ID_ASC]) {
                nodes { name timestamp }
              }
            }
          }"""
THREE_LEVELS_POSTGRAPHILE = f"""
query ThreeLevels {{
  allLocations(first: 20, orderBy: ROW_ID_ASC) {{
    nodes {{
      name
      devicesByLocationId(first: 10, orderBy: ROW_ID_ASC) {{
        nodes {{
          name
          booked: sessionsByStorageDeviceId(condition: {{status: "booked"}}, first: 1) {_PG_OPEN}
          active: sessionsByStorageDeviceId(condition: {{status: "active"}}, first: 1) {_PG_OPEN}
        }}
      }}
    }}
  }}
}}
"""

_LOCATION_FIELDS = "id uuid name timeZone"
_DEVICE_FIELDS = "id uuid kind name"
NODE = f"""
query Node($id: ID!) {{
  node(id: $id) {{
    id
    ... on Session {{
      uuid kind status userId accessKeyId createdAt updatedAt
      bookedTime bookedUntilTime startTime endTime
      fee {{ currency value }}
      payment {{ id status }}
      rating {{ rating comment }}
      uri
      details {{
        ... on StorageDetails {{
          location {{ {_LOCATION_FIELDS} }}
          device {{ {_DEVICE_FIELDS} }}
        }}
        ... on TravelDetails {{
          secondsActive secondsPaused batteryUsed distanceTravelled
          startLocation {{ {_LOCATION_FIELDS} }}
          endLocation {{ {_LOCATION_FIELDS} }}
          rentalDevice {{ {_DEVICE_FIELDS} }}
          rentalFleet {{ id uuid name }}
        }}
      }}
      events {{ name timestamp }}
      auxiliaryDevices {{ {_DEVICE_FIELDS} }}
    }}
  }}
}}
"""

_PG_LOCATION = "id rowId name timeZone"
_PG_DEVICE = "id rowId kind name"
NODE_POSTGRAPHILE = f"""
query Node($id: UUID!) {{
  sessionByRowId(rowId: $id) {{
    id rowId kind status userId accessKeyId createdAt updatedAt
    bookedTime bookedUntilTime startTime endTime
    feeCurrency feeMinor paymentId paymentStatus rating ratingComment
    secondsActive secondsPaused batteryUsed distanceTravelled
    locationByStorageLocationId {{ {_PG_LOCATION} }}
    deviceByStorageDeviceId {{ {_PG_DEVICE} }}
    locationByTravelStartLocationId {{ {_PG_LOCATION} }}
    locationByTravelEndLocationId {{ {_PG_LOCATION} }}
    deviceByRentalDeviceId {{ {_PG_DEVICE} }}
    fleetByRentalFleetId {{ id rowId name }}
    sessionEventsBySessionId(orderBy: [TIMESTAMP_ASC, ROW_ID_ASC]) {{
      nodes {{ name timestamp }}
    }}
    sessionAuxiliaryDevicesBySessionId {{ nodes {{ deviceByDeviceId {{ {_PG_DEVICE} }} }} }}
  }}
}}
"""


def graphql(query: str, variables: dict[str, Any]) -> Request:
    return Request("POST", "/graphql", {"query": query, "variables": variables})


def frontend_list(location_id: str) -> Request:
    return graphql(FRONTEND_LIST, {"location": location_id})


def frontend_list_postgraphile(location_id: str) -> Request:
    return graphql(FRONTEND_LIST_POSTGRAPHILE, {"location": location_id})


THREE_LEVELS_REQUEST = graphql(THREE_LEVELS, {})
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
