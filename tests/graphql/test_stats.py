"""Session statistics, occupancy and utilization against an oracle written in plain Python.

The oracle reads the dataset's own Python objects (``tests.fixtures.stats``), applies the
visibility rule and the filter again, buckets reference times with ``zoneinfo`` and
computes counts, exact fee totals, nearest-rank percentiles and clipped device time.
Every answer is also compared byte for byte between the planned lane and the reference
path, on SQLite and PostgreSQL.
"""

import math
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage.database import count_statements
from tests.conftest import BACKENDS, auth, prepared_database
from tests.fixtures.dataset import DEVICES, LOC_X, LOCATIONS, S
from tests.fixtures.stats import LOC_W, W_DEVICES, W_LOCATION, load_stats_dataset, visible
from tests.graphql.test_planned import Lanes, lanes_over

SUBJECTS = ["admin", "user_a", "user_b", "operator_w", "operator_x", "operator_f"]
ZONES = {loc: zone for loc, _, zone in [*LOCATIONS, W_LOCATION]}


@pytest.fixture(scope="session", params=BACKENDS)
async def stats_lanes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Lanes, dict[str, str]]]:
    """Both lanes over the dataset with location W (Amsterdam), per backend."""
    directory = tmp_path_factory.mktemp("stats")
    unlimited: dict[str, Any] = {"rate_limit_burst": 10**9, "rate_limit_per_second": 1e9}
    async with (
        prepared_database(request.param, directory, load_stats_dataset) as (url, tokens),
        lanes_over(url, **unlimited) as lanes,
    ):
        yield lanes, tokens


# The oracle ---------------------------------------------------------------------------


def _place(s: S) -> uuid.UUID | None:
    return s.location or s.travel_start or s.travel_end


def _bucket(reference: datetime, unit: str, zone_name: str) -> datetime:
    """Truncate the wall-clock time; a repeated wall time means its later instant."""
    zone = ZoneInfo(zone_name)
    local = reference.astimezone(zone).replace(tzinfo=None)
    start = local.replace(minute=0, second=0, microsecond=0)
    if unit != "HOUR":
        start = start.replace(hour=0)
    if unit == "WEEK":
        start -= timedelta(days=start.weekday())
    if unit == "MONTH":
        start = start.replace(day=1)
    return start.replace(tzinfo=zone, fold=1).astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nearest_rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


KEYS: dict[str, Callable[[S], Any]] = {
    "LOCATION": _place,
    "DEVICE": lambda s: s.device,
    "FLEET": lambda s: s.fleet,
    "KIND": lambda s: s.kind,
    "STATUS": lambda s: s.status,
    "USER": lambda s: s.user_id,
}
ORDER = ["LOCATION", "DEVICE", "FLEET", "KIND", "STATUS", "USER"]


def _matches(s: S, flt: dict[str, Any]) -> bool:
    if "locationId" in flt and uuid.UUID(flt["locationId"]) not in {
        s.location,
        s.travel_start,
        s.travel_end,
    }:
        return False
    if "status" in flt and s.status.upper() not in flt["status"]:
        return False
    if "kind" in flt and s.kind.upper() != flt["kind"]:
        return False
    day = s.reference.date()
    if "from" in flt and day < date.fromisoformat(flt["from"]):
        return False
    return not ("to" in flt and day > date.fromisoformat(flt["to"]))


def oracle(
    subject: str,
    group_by: list[str],
    bucket: str | None = None,
    zone: str | None = None,
    flt: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """What ``sessionStats`` must answer, in the selection ``STATS_FIELDS`` asks for."""
    groups: dict[tuple[Any, ...], list[S]] = {}
    keys = [name for name in ORDER if name in group_by]
    for s in visible(subject):
        if not _matches(s, flt or {}):
            continue
        key: list[Any] = [KEYS[name](s) for name in keys]
        if bucket:
            place = _place(s)
            name = zone or (ZONES[place] if place else "UTC")
            key.append(_bucket(s.reference, bucket, name))
        groups.setdefault(tuple(key), []).append(s)
    answer = []
    for key in sorted(groups, key=lambda k: tuple((v is not None, v) for v in k)):
        members = groups[key]
        named = dict(zip(keys, key, strict=False))
        fees: dict[str, int] = {}
        for s in members:
            if s.fee:
                fees[s.fee[1]] = fees.get(s.fee[1], 0) + s.fee[0]
        durations = [(s.end - s.start).total_seconds() for s in members if s.start and s.end]
        rentals = [s for s in members if s.kind == "rental" and s.status == "ended"]
        references = [s.reference for s in members]
        location, device, fleet = named.get("LOCATION"), named.get("DEVICE"), named.get("FLEET")
        answer.append(
            {
                "location": {"uuid": str(location)} if location else None,
                "device": {"uuid": str(device)} if device else None,
                "fleet": {"uuid": str(fleet)} if fleet else None,
                "kind": named["KIND"].upper() if "KIND" in named else None,
                "status": named["STATUS"].upper() if "STATUS" in named else None,
                "userId": str(named["USER"]) if "USER" in named else None,
                "bucket": _stamp(key[-1]) if bucket else None,
                "count": len(members),
                "fees": [
                    {"currency": c, "value": format(Decimal(fees[c]).scaleb(-2), "f")}
                    for c in sorted(fees)
                ],
                "averageDuration": sum(durations) / len(durations) if durations else None,
                "p50Duration": _nearest_rank(durations, 50),
                "p90Duration": _nearest_rank(durations, 90),
                # session_row gives every ended rental 4200 m and 12.5 % of a charge.
                "distanceTravelled": 4200.0 * len(rentals) if rentals else None,
                "batteryUsed": 12.5 * len(rentals) if rentals else None,
                "firstReferenceTime": _stamp(min(references)),
                "lastReferenceTime": _stamp(max(references)),
            }
        )
    return answer


STATS_FIELDS = """location { uuid } device { uuid } fleet { uuid } kind status userId bucket
  count fees { currency value } averageDuration p50Duration p90Duration distanceTravelled
  batteryUsed firstReferenceTime lastReferenceTime"""
STATS = f"""query Stats($filter: SessionFilter, $groupBy: [SessionGroup!], $bucket: TimeBucket,
  $timeZone: String) {{
  sessionStats(filter: $filter, groupBy: $groupBy, bucket: $bucket, timeZone: $timeZone) {{
    {STATS_FIELDS} }} }}"""

CASES: list[tuple[list[str], str | None, str | None, dict[str, Any] | None]] = [
    ([], None, None, None),
    (["LOCATION"], None, None, None),
    (["LOCATION", "KIND"], "DAY", None, None),
    (["USER"], "MONTH", None, None),
    (["FLEET", "DEVICE"], None, None, {"kind": "RENTAL"}),
    (["STATUS"], "WEEK", None, None),
    (ORDER, "DAY", None, None),
    # The DST days in Amsterdam: 23 and 25 hours, and 02:00-03:00 twice on 26 October.
    ([], "DAY", "Europe/Amsterdam", {"locationId": str(LOC_W)}),
    ([], "HOUR", "Europe/Amsterdam", {"locationId": str(LOC_W), "from": "2025-10-25"}),
    (["KIND"], "DAY", None, {"locationId": str(LOC_W), "status": ["ENDED"]}),
    ([], "DAY", "America/New_York", {"from": "2025-03-01", "to": "2025-10-31"}),
    ([], "HOUR", "Asia/Kolkata", {"to": "2025-01-31"}),
    (["USER"], "DAY", "UTC", {"locationId": str(LOC_X)}),
]


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_session_stats_match_the_oracle_on_both_lanes(
    stats_lanes: tuple[Lanes, dict[str, str]], subject: str
) -> None:
    lanes, tokens = stats_lanes
    for group_by, bucket, zone, flt in CASES:
        variables = {"groupBy": group_by, "bucket": bucket, "timeZone": zone, "filter": flt}
        body = await lanes.compare(tokens[subject], STATS, variables)
        assert body["data"]["sessionStats"] == oracle(subject, group_by, bucket, zone, flt), (
            subject,
            variables,
        )


async def test_buckets_follow_the_locations_time_zone_across_dst(
    stats_lanes: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = stats_lanes
    variables = {"groupBy": ["LOCATION"], "bucket": "DAY", "filter": {"locationId": str(LOC_W)}}
    body = await lanes.compare(tokens["operator_w"], STATS, variables)
    days = {(g["location"]["uuid"], g["bucket"]): g["count"] for g in body["data"]["sessionStats"]}
    w = str(LOC_W)
    # 30 March starts at 23:00 UTC (CET) and 31 March at 22:00 UTC (CEST); a session that
    # started on the 29th and ended after local midnight counts on the 30th.
    assert days[(w, "2025-03-29T23:00:00Z")] == 2
    assert days[(w, "2025-03-30T22:00:00Z")] == 1
    # 26 October starts at 22:00 UTC the day before (CEST) and lasts 25 hours.
    assert days[(w, "2025-10-24T22:00:00Z")] == 1
    assert days[(w, "2025-10-25T22:00:00Z")] == 7  # with the active and the booked one
    # Both 02:30s of 26 October fall in the one hour bucket PostgreSQL makes of them.
    hours = await lanes.compare(
        tokens["admin"],
        STATS,
        {"bucket": "HOUR", "timeZone": "Europe/Amsterdam", "filter": {"locationId": w}},
    )
    buckets = {g["bucket"]: g["count"] for g in hours["data"]["sessionStats"]}
    assert buckets["2025-10-26T01:00:00Z"] == 3  # 00:30, 01:30 and 01:50 UTC
    assert "2025-10-26T00:00:00Z" not in buckets


async def test_bad_arguments_are_validation_errors(
    stats_lanes: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = stats_lanes
    cases = [
        ({"bucket": "DAY", "timeZone": "Mars/Olympus_Mons"}, "IANA time zone"),
        ({"bucket": "DAY", "timeZone": "../../etc/passwd"}, "IANA time zone"),
        ({"bucket": "DAY", "timeZone": ""}, "IANA time zone"),
        ({"timeZone": "UTC"}, "needs a bucket"),
    ]
    for variables, message in cases:
        body = await lanes.compare(tokens["admin"], STATS, variables, planned=False)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION", body
        assert message in error["message"]
        assert body["data"] is None


async def test_too_many_groups_is_a_validation_error(
    stats_lanes: tuple[Lanes, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers import stats

    lanes, tokens = stats_lanes
    admin = oracle("admin", ["USER", "DEVICE"])
    monkeypatch.setattr(stats, "MAX_GROUPS", len(admin))
    # The bound is in the statement: statements built with the old one are dropped.
    monkeypatch.setattr(stats, "_STATEMENTS", type(stats._STATEMENTS)())
    body = await lanes.compare(tokens["admin"], STATS, {"groupBy": ["USER", "DEVICE"]})
    assert len(body["data"]["sessionStats"]) == len(admin)
    body = await lanes.compare(
        tokens["admin"], STATS, {"groupBy": ["USER", "DEVICE", "STATUS"]}, planned=False
    )
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert f"more than {len(admin)} groups" in body["errors"][0]["message"]


# Occupancy and utilization ----------------------------------------------------------------

LOCATIONS_QUERY = """query Use($from: DateTime!, $to: DateTime!) { locations(first: 10) {
  nodes { uuid occupancy { devices occupied ratio }
    utilization(from: $from, to: $to) { occupiedSeconds availableSeconds ratio } } } }"""


def _occupancy(subject: str, location: uuid.UUID) -> dict[str, Any]:
    devices = {d[0] for d in [*DEVICES, *W_DEVICES] if d[3] == location}
    occupied = {
        s.device
        for s in visible(subject)
        if s.kind == "parking" and s.status == "active" and s.device in devices
    }
    ratio = len(occupied) / len(devices) if devices else None
    return {"devices": len(devices), "occupied": len(occupied), "ratio": ratio}


def _utilization(
    subject: str, location: uuid.UUID, start: datetime, end: datetime
) -> dict[str, Any]:
    devices = {d[0] for d in [*DEVICES, *W_DEVICES] if d[3] == location}
    now = datetime.now(UTC)  # the windows below end before it
    held = 0.0
    for s in visible(subject):
        if s.kind != "parking" or s.device not in devices or s.start is None:
            continue
        overlap = (min(s.end or now, end) - max(s.start, start)).total_seconds()
        held += max(0.0, overlap)
    available = len(devices) * (end - start).total_seconds()
    return {
        "occupiedSeconds": held,
        "availableSeconds": available,
        "ratio": held / available if available else None,
    }


WINDOWS = [
    (datetime(2025, 10, 25, tzinfo=UTC), datetime(2025, 10, 27, tzinfo=UTC)),
    (datetime(2025, 1, 2, 12, tzinfo=UTC), datetime(2025, 1, 21, tzinfo=UTC)),
    (datetime(2025, 3, 30, 0, 30, tzinfo=UTC), datetime(2025, 3, 30, 21, tzinfo=UTC)),
]


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_occupancy_and_utilization_match_the_oracle_on_both_lanes(
    stats_lanes: tuple[Lanes, dict[str, str]], subject: str
) -> None:
    lanes, tokens = stats_lanes
    for start, end in WINDOWS:
        variables = {"from": _stamp(start), "to": _stamp(end)}
        body = await lanes.compare(tokens[subject], LOCATIONS_QUERY, variables)
        nodes = body["data"]["locations"]["nodes"]
        assert len(nodes) == 4
        for node in nodes:
            location = uuid.UUID(node["uuid"])
            assert node["occupancy"] == _occupancy(subject, location), (subject, node)
            assert node["utilization"] == pytest.approx(
                _utilization(subject, location, start, end)
            ), (subject, node, start)


async def test_utilization_counts_an_active_session_up_to_the_windows_end(
    stats_lanes: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = stats_lanes
    variables = {"from": "2025-10-26T00:00:00Z", "to": "2025-10-27T00:00:00Z"}
    body = await lanes.compare(tokens["operator_w"], LOCATIONS_QUERY, variables)
    [w] = [n for n in body["data"]["locations"]["nodes"] if n["uuid"] == str(LOC_W)]
    # 305 (20 min), 306 (30 min), 307 (10 h 45 min) and the active 310 from 10:00 (14 h).
    held = (20 + 30 + 645 + 14 * 60) * 60
    assert w["utilization"]["occupiedSeconds"] == held
    assert w["utilization"]["availableSeconds"] == 3 * 86400
    assert w["occupancy"] == {"devices": 3, "occupied": 1, "ratio": 1 / 3}


async def test_a_window_that_is_not_one_is_a_validation_error(
    stats_lanes: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = stats_lanes
    variables = {"from": "2025-10-27T00:00:00Z", "to": "2025-10-26T00:00:00Z"}
    body = await lanes.compare(tokens["admin"], LOCATIONS_QUERY, variables, planned=False)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert "before" in body["errors"][0]["message"]


# Statements -------------------------------------------------------------------------------


async def _statements(lanes: Lanes, token: str, document: str) -> int:
    """The statements the planned lane sends for a document (its token look-up included).

    Counted on a third run: statements are compiled for the driver at their second, and
    only compiled ones carry the token's check along.
    """
    for _warm_up in range(2):
        await lanes.planned.post("/graphql", json={"query": document}, headers=auth(token))
    counted = [0]

    def bump() -> None:
        counted[0] += 1

    remove = count_statements(lanes.app.state.gateway.engine, bump)
    try:
        response = await lanes.planned.post(
            "/graphql", json={"query": document}, headers=auth(token)
        )
    finally:
        remove()
    assert "errors" not in response.json(), response.text
    return counted[0]


@pytest.mark.parametrize("subject", ["admin", "operator_w"])
async def test_each_new_field_adds_one_statement_whatever_the_groups(
    stats_lanes: tuple[Lanes, dict[str, str]], subject: str
) -> None:
    lanes, tokens = stats_lanes
    token = tokens[subject]
    base = await _statements(lanes, token, "{ viewer { role } }")
    one = await _statements(lanes, token, "{ viewer { role } sessionStats { count } }")
    many = await _statements(
        lanes,
        token,
        "{ viewer { role } sessionStats(groupBy: [USER, DEVICE, STATUS], bucket: HOUR) "
        "{ count userId status } }",
    )
    assert one == many
    # Each kind of object a group refers to: one batched look-up for all groups.
    referenced = await _statements(
        lanes,
        token,
        "{ viewer { role } sessionStats(groupBy: [LOCATION, DEVICE, FLEET], bucket: DAY) "
        "{ location { name } device { name } fleet { name } } }",
    )
    assert referenced <= base + 4
    # (The token's check may ride along a request's first statement: counts are bounds.)
    assert one == many <= base + 1
    locations = await _statements(lanes, token, "{ locations(first: 1) { nodes { uuid } } }")
    used = []
    for first in (1, 4):
        used.append(
            await _statements(
                lanes,
                token,
                f"{{ locations(first: {first}) {{ nodes {{ uuid occupancy {{ occupied }} "
                '  utilization(from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z") '
                "  { ratio } } } }",
            )
        )
    assert used[0] == used[1] <= locations + 2


def test_the_oracle_buckets_like_postgresql_on_dst_days() -> None:
    """The oracle's own bucketing, checked on the transitions by hand."""
    amsterdam = "Europe/Amsterdam"
    assert _bucket(datetime(2025, 3, 30, 12, tzinfo=UTC), "DAY", amsterdam) == datetime(
        2025, 3, 29, 23, tzinfo=UTC
    )
    assert _bucket(datetime(2025, 10, 26, 0, 30, tzinfo=UTC), "HOUR", amsterdam) == datetime(
        2025, 10, 26, 1, tzinfo=UTC
    )
    assert _bucket(datetime(2025, 10, 29, tzinfo=UTC), "WEEK", amsterdam) == datetime(
        2025, 10, 26, 23, tzinfo=UTC
    )


async def test_operators_of_different_locations_each_see_their_own_sessions(
    stats_lanes: tuple[Lanes, dict[str, str]],
) -> None:
    # Statements are compiled for the driver at their second run: an operator's list of
    # locations must be bound afresh on every run, never the first operator's.
    lanes, tokens = stats_lanes
    document = "{ sessions(first: 50) { nodes { uuid } } sessionStats { count } }"
    for subject in ["operator_w"] * 3 + ["operator_x"] * 3 + ["operator_w"]:
        body = await lanes.compare(tokens[subject], document)
        seen = {node["uuid"] for node in body["data"]["sessions"]["nodes"]}
        assert seen == {str(s.id) for s in visible(subject)}, subject
        assert body["data"]["sessionStats"] == [{"count": len(seen)}]
