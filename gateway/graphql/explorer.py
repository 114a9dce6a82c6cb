"""GraphiQL from the gateway's own assets, with example tabs: works with no internet at all.

Strawberry's page loads GraphiQL from unpkg.com; this one loads GraphiQL 3, React and
ReactDOM from ``gateway/static/graphiql`` (served under ``/graphql/static``), and a
Content-Security-Policy keeps the page from reaching anywhere else. ``explorer.js`` runs
each operation with the header editor's headers, and passes them as the WebSocket
``connection_init`` payload too, which is where subscriptions read their token.
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_PATH = "/graphql/static"
# No inline script, nothing from another origin; GraphiQL styles elements inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

SESSIONS = """\
# Sessions with their parking or rental details, the
# catalog objects they use, and their events. Run it with
# the ▶ button or Ctrl-Enter; a token goes in Headers below:
# {"Authorization": "Bearer sgw_..."}
query RecentSessions {
  sessions(first: 5, filter: {status: [ENDED]}) {
    edges {
      cursor
      node {
        uuid kind status startTime endTime
        fee { currency value }
        details {
          ... on StorageDetails { location { name timeZone } device { kind name } }
          ... on TravelDetails {
            rentalDevice { name } rentalFleet { name } distanceTravelled
          }
        }
        events { name timestamp }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

NODE = """\
# Any object by its global id (Relay): run Locations,
# copy an "id" into Variables, then run LocationById
# (the ▶ button asks which operation to run).
query LocationById($id: ID!) {
  node(id: $id) {
    id
    ... on Location {
      name timeZone
      devices(first: 3) { nodes { id kind name currentSession { uuid status } } }
    }
  }
}

query Locations {
  locations(first: 5) { nodes { id name } }
}
"""

LIFECYCLE = """\
# A session from booking to its fee, step by step (the ▶
# button asks which operation to run):
# 1. FreeLockers: copy the uuid of a locker that has no
#    currentSession into "deviceId" in Variables.
# 2. Book: copy the new session's uuid into "sessionId".
# 3. Start, then 4. End: see the fee.
# The LiveUpdates tab shows each change as it commits.
query FreeLockers {
  devices(first: 10, filter: {kind: LOCKER}) {
    nodes { uuid name location { name } currentSession { status } }
  }
}

mutation Book($deviceId: UUID!, $until: DateTime!, $userId: UUID) {
  bookSession(deviceId: $deviceId, until: $until, userId: $userId) { ...Outcome }
}

mutation Start($sessionId: UUID!) {
  startSession(sessionId: $sessionId) { ...Outcome }
}

mutation End($sessionId: UUID!) {
  endSession(sessionId: $sessionId) { ...Outcome }
}

fragment Outcome on SessionResult {
  __typename
  ... on Session { uuid status bookedUntilTime startTime endTime fee { currency value } }
  ... on OperationError { code message }
}
"""

LIVE_UPDATES = """\
# Each committed change to a session you may see, as it
# happens, over a WebSocket. Run it, then book, start or
# end a session in another tab or from another client.
subscription LiveUpdates {
  sessionUpdated {
    uuid kind status userId updatedAt
    events { name timestamp }
  }
}
"""

ORDERED = """\
# Sessions in another order than newest first: here the
# highest fees first (no fee sorts first descending, last
# ascending; the id breaks ties). To page on, copy
# pageInfo.endCursor into "after" in Variables: a cursor
# only works with the order it was issued for.
query HighestFees($after: String) {
  sessions(first: 5, after: $after, orderBy: [FEE_DESC], filter: {status: [ENDED]}) {
    nodes {
      uuid endTime fee { currency value }
      details { __typename }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COUNTS = """\
# How many: totalCount counts a whole list, its filter and
# what your token may see applied. Each count is one
# statement and costs as a page of 100 in the query's cost;
# totalCountEstimate answers an admin's unfiltered count of
# sessions from PostgreSQL's statistics.
query Counts {
  active: sessions(first: 1, filter: {status: [ACTIVE]}) { totalCount }
  everything: sessions(first: 1) { totalCountEstimate }
  locations(first: 3) {
    totalCount
    nodes {
      name
      sessions(first: 1) { totalCount }
      devices(first: 1) { totalCount }
    }
  }
}
"""


STATISTICS = """\
# Sessions, revenue and durations per location and day,
# counted by the database, in each location's own time
# zone (add timeZone: "Europe/Amsterdam" for one zone).
# Durations are in seconds; p50 and p90 are nearest-rank.
query DailyStats($from: Date!, $to: Date!) {
  sessionStats(groupBy: [LOCATION], bucket: DAY, filter: {from: $from, to: $to}) {
    location { name timeZone }
    bucket count
    fees { currency value }
    averageDuration p50Duration p90Duration
    distanceTravelled batteryUsed
  }
}

query ByKindAndStatus {
  sessionStats(groupBy: [KIND, STATUS]) {
    kind status count
    fees { currency value }
    firstReferenceTime lastReferenceTime
  }
}
"""

LOCATION_USE = """\
# How busy each location is: its devices in use now, and
# the share of its device time sessions held over a window.
query LocationUse($from: DateTime!, $to: DateTime!) {
  locations(first: 10) {
    nodes {
      name timeZone
      occupancy { devices occupied ratio }
      utilization(from: $from, to: $to) { occupiedSeconds availableSeconds ratio }
    }
  }
}
"""


def example_tabs(headers: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """GraphiQL's tabs: nested, node, lifecycle, subscription, order, counts, statistics, use."""
    now = now or datetime.now(UTC)
    until = now + timedelta(hours=2)
    lifecycle_variables = {
        "deviceId": "paste a locker's uuid from FreeLockers",
        "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userId": str(uuid.uuid4()),
        "sessionId": "paste the booked session's uuid",
    }
    tabs: list[tuple[str, dict[str, str] | None]] = [
        (SESSIONS, None),
        (NODE, {"id": "paste a location id from Locations"}),
        (LIFECYCLE, lifecycle_variables),
        (LIVE_UPDATES, None),
        (ORDERED, None),
        (COUNTS, None),
        (
            STATISTICS,
            {"from": (now - timedelta(days=29)).date().isoformat(), "to": now.date().isoformat()},
        ),
        (
            LOCATION_USE,
            {
                "from": (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "to": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        ),
    ]
    return [
        {
            "query": query,
            "variables": json.dumps(variables, indent=2) if variables else None,
            "headers": headers,
        }
        for query, variables in tabs
    ]


def script_json(value: object) -> str:
    """JSON to embed in a <script> element."""
    # Inside <script>, "</script>" or "<!--" in a string would end or change the element.
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_page(root_path: str, demo_token: str) -> str:
    """The GraphiQL page; the header editor holds ``demo_token`` when there is one."""
    headers = json.dumps({"Authorization": f"Bearer {demo_token}"}, indent=2) if demo_token else ""
    # A new demo token gets fresh tabs: stored tabs keep their headers empty otherwise.
    namespace = "session-gateway"
    if demo_token:
        namespace += "-demo-" + hashlib.sha256(demo_token.encode()).hexdigest()[:12]
    config = {
        "graphqlPath": f"{root_path}/graphql",
        "tabs": example_tabs(headers),
        "headers": headers,
        "storageNamespace": namespace,
    }
    static = escape(f"{root_path}{STATIC_PATH}/graphiql", quote=True)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>session-gateway GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{static}/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL&hellip;</div>
  <script id="explorer-config" type="application/json">{script_json(config)}</script>
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
  <script src="{static}/explorer.js"></script>
</body>
</html>
"""
