"""The GraphQL documents each scenario sends, for the gateway and for PostGraphile.

Plain strings with no imports, so that the gateway's tests can check that every
benchmark read runs on the planned lane without the bench's own dependencies.
"""

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

# (o): ended sessions in another order than the default, earliest end first, by cursor.
# The walk to the deep page selects only the cursor; the measured pages select the rows.
ORDERED_PAGE = """
query OrderedPage($after: String) {
  sessions(first: 50, after: $after, orderBy: [END_TIME_ASC], filter: {status: [ENDED]}) {
    nodes { uuid status startTime endTime fee { currency value } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ORDERED_WALK = """
query OrderedWalk($after: String) {
  sessions(first: 100, after: $after, orderBy: [END_TIME_ASC], filter: {status: [ENDED]}) {
    pageInfo { hasNextPage endCursor }
  }
}
"""

# (t): an admin's count of every session, exact and estimated.
TOTAL_COUNT = "query TotalCount { sessions(first: 1) { totalCount } }"
TOTAL_COUNT_ESTIMATE = "query TotalCountEstimate { sessions(first: 1) { totalCountEstimate } }"

# (i): a dashboard's sessions and revenue per day at one location, 30 local days.
DAILY_STATS = """
query DailyStats($location: UUID!, $from: Date!, $to: Date!) {
  sessionStats(bucket: DAY, filter: {locationId: $location, from: $from, to: $to}) {
    bucket count fees { currency value } averageDuration p50Duration p90Duration
  }
}
"""

# The newest reference time at a location: where (i)'s 30 days end.
LAST_REFERENCE = """
query LastReference($location: UUID!) {
  sessionStats(filter: {locationId: $location}) { lastReferenceTime }
}
"""
