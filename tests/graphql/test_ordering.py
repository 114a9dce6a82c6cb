"""Ordered session lists and counts: every order pages through every visible session once.

Each read runs on both lanes (``Lanes.compare``: byte-equal answers, the planned lane
taken) over the dataset with ties in every key, on SQLite and PostgreSQL. The expected
order is computed here in Python: the key, nulls after every value ascending and
before every value descending, then the id.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.enums import Role
from storage.models import Session, SessionEvent
from tests.conftest import BACKENDS, prepared_database
from tests.fixtures.dataset import (
    DOCK_X,
    EBIKE_F,
    EBIKE_G,
    FLEET_F,
    FLEET_G,
    LOC_X,
    LOC_Y,
    LOC_Z,
    LOCKER_Z,
    TOKEN_SUBJECTS,
    USER_A,
    USER_B,
    S,
    _id,
    at,
    event_rows,
    load_dataset,
    session_row,
)
from tests.fixtures.dataset import SESSIONS as DATASET_SESSIONS
from tests.graphql.test_planned import PRINCIPALS, TIED, Lanes, lanes_over

# Ties in the other keys too: a fee, a start and a creation time shared with the dataset,
# and a rental that starts and ends at one location (counted once there).
MORE_TIES = [
    S(_id(301), "parking", "ended", USER_B, LOCKER_Z, at(3, 9), start=at(3, 9), end=at(3, 10),
      location=LOC_Z, fee=(250, "EUR"), payment="PAID"),
    S(_id(302), "rental", "ended", USER_A, EBIKE_G, at(5, 12), start=at(5, 12), end=at(5, 14),
      fleet=FLEET_G, travel_start=LOC_X, travel_end=LOC_X, fee=(375, "EUR"), payment="PAID"),
]  # fmt: skip
ALL = [*DATASET_SESSIONS, *TIED, *MORE_TIES]

ORDERS = [
    f"{key}_{direction}"
    for key in ("REFERENCE_TIME", "START_TIME", "END_TIME", "CREATED_AT", "FEE")
    for direction in ("ASC", "DESC")
]


def _key(s: S, order: str) -> Any:
    key = order.rpartition("_")[0]
    return {
        "REFERENCE_TIME": s.reference,
        "START_TIME": s.start,
        "END_TIME": s.end,
        "CREATED_AT": s.created,
        "FEE": s.fee[0] if s.fee else None,
    }[key]


def expected_order(sessions: list[S], order: str) -> list[str]:
    """The sessions in ``order``: (nulls last, key, id) ascending, or all of it reversed."""
    ordered = sorted(sessions, key=lambda s: (_key(s, order) is None, _key(s, order) or 0, s.id))
    if order.endswith("_DESC"):
        ordered.reverse()
    return [str(s.id) for s in ordered]


def _visible(subject: str, s: S) -> bool:
    rules = TOKEN_SUBJECTS[subject]
    if rules["role"] is Role.ADMIN:
        return True
    if rules["role"] is Role.USER:
        return bool(s.user_id == rules["user_id"])
    places = {s.location, s.travel_start, s.travel_end}
    return bool(places & set(rules.get("location_ids", []))) or s.fleet in rules.get(
        "fleet_ids", []
    )


def _matches(s: S, session_filter: dict[str, Any]) -> bool:
    checks = {
        "status": lambda v: s.status.upper() in v,
        "kind": lambda v: s.kind.upper() == v,
        "userId": lambda v: str(s.user_id) == v,
        "locationId": lambda v: v in {str(p) for p in (s.location, s.travel_start, s.travel_end)},
        "deviceId": lambda v: str(s.device) == v,
        "fleetId": lambda v: str(s.fleet) == v,
        "from": lambda v: s.reference.date() >= date.fromisoformat(v),
        "to": lambda v: s.reference.date() <= date.fromisoformat(v),
    }
    return all(checks[name](value) for name, value in session_filter.items())


async def _with_more_ties(engine: AsyncEngine) -> dict[str, str]:
    tokens = await load_dataset(engine)
    extra = [*TIED, *MORE_TIES]
    async with engine.begin() as connection:
        await connection.execute(insert(Session), [session_row(s) for s in extra])
        await connection.execute(insert(SessionEvent), [r for s in extra for r in event_rows(s)])
    return tokens


@pytest.fixture(scope="module", params=BACKENDS)
async def ordered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Lanes, dict[str, str]]]:
    directory = tmp_path_factory.mktemp("orders")
    # Paging to the end asks much of one token: each app would refuse at its own moment.
    unlimited = {"rate_limit_burst": 10**9, "rate_limit_per_second": 1e9}
    async with (
        prepared_database(request.param, directory, _with_more_ties) as (url, tokens),
        lanes_over(url, **unlimited) as lanes,
    ):
        yield lanes, tokens


LIST = """query Ordered($filter: SessionFilter, $order: [SessionOrder!], $first: Int,
    $after: String) {
  sessions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { cursor node { uuid startTime endTime createdAt fee { value } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


async def page_to_the_end(
    lanes: Lanes, token: str, variables: dict[str, Any]
) -> tuple[list[str], set[int]]:
    """Every session of the list, page after page on both lanes, and the counts seen."""
    seen: list[str] = []
    counts: set[int] = set()
    after = None
    while True:
        body = await lanes.compare(token, LIST, {**variables, "after": after})
        page = body["data"]["sessions"]
        seen += [edge["node"]["uuid"] for edge in page["edges"]]
        counts.add(page["totalCount"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            return seen, counts
        after = page["pageInfo"]["endCursor"]


FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.lists(st.sampled_from(["PENDING", "BOOKED", "ACTIVE", "ENDED"]), min_size=1),
        "kind": st.sampled_from(["PARKING", "RENTAL"]),
        "userId": st.sampled_from([str(USER_A), str(USER_B)]),
        "locationId": st.sampled_from([str(LOC_X), str(LOC_Y), str(LOC_Z)]),
        "deviceId": st.sampled_from([str(DOCK_X), str(EBIKE_F), str(LOCKER_Z)]),
        "fleetId": st.sampled_from([str(FLEET_F), str(FLEET_G)]),
        "from": st.sampled_from(["2025-01-02", "2025-01-05", "2025-01-11"]),
        "to": st.sampled_from(["2025-01-05", "2025-01-12", "2025-01-20"]),
    },
).filter(lambda f: f.get("from", "") <= f.get("to", "9"))


async def test_paging_to_the_end_in_any_order_returns_every_visible_session_once(
    ordered: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = ordered
    loop = asyncio.get_running_loop()

    @given(
        subject=st.sampled_from([*PRINCIPALS, "user_b"]),
        order=st.sampled_from(ORDERS),
        session_filter=FILTERS,
        first=st.integers(1, 4),
    )
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(subject: str, order: str, session_filter: dict[str, Any], first: int) -> None:
        variables = {"filter": session_filter, "order": [order], "first": first}
        future = asyncio.run_coroutine_threadsafe(
            page_to_the_end(lanes, tokens[subject], variables), loop
        )
        seen, counts = future.result(timeout=120)
        chosen = [s for s in ALL if _visible(subject, s) and _matches(s, session_filter)]
        assert seen == expected_order(chosen, order)
        assert counts == {len(chosen)}

    await asyncio.to_thread(check)


@pytest.mark.parametrize("order", ORDERS)
async def test_each_order_pages_forwards_and_backwards_alike(
    ordered: tuple[Lanes, dict[str, str]], order: str
) -> None:
    lanes, tokens = ordered
    expected = expected_order(ALL, order)
    seen, counts = await page_to_the_end(lanes, tokens["admin"], {"order": [order], "first": 3})
    assert seen == expected
    assert counts == {len(ALL)}
    backwards = """query Back($order: [SessionOrder!], $before: String) {
      sessions(orderBy: $order, last: 4, before: $before) {
        nodes { uuid } pageInfo { hasPreviousPage startCursor } } }"""
    before = None
    collected: list[str] = []
    while True:
        body = await lanes.compare(tokens["admin"], backwards, {"order": [order], "before": before})
        page = body["data"]["sessions"]
        collected = [node["uuid"] for node in page["nodes"]] + collected
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert collected == expected


NESTED = """query Nested($order: [SessionOrder!], $first: Int, $after: String) {
  locations(first: 5) { nodes { uuid
    sessions(orderBy: $order, first: $first, after: $after) {
      totalCount nodes { uuid } pageInfo { hasNextPage endCursor } }
    devices(first: 2) { totalCount nodes { uuid } } } }
  fleets { totalCount nodes { uuid sessions(orderBy: $order, first: 1) { totalCount } } }
}"""


@pytest.mark.parametrize("subject", PRINCIPALS)
@pytest.mark.parametrize("order", ["END_TIME_DESC", "FEE_ASC", "START_TIME_ASC"])
async def test_nested_lists_take_an_order_and_count_their_sessions(
    ordered: tuple[Lanes, dict[str, str]], subject: str, order: str
) -> None:
    lanes, tokens = ordered
    token = tokens[subject]
    body = await lanes.compare(token, NESTED, {"order": [order], "first": 2})
    for location in body["data"]["locations"]["nodes"]:
        place = uuid.UUID(location["uuid"])
        there = [
            s
            for s in ALL
            if _visible(subject, s) and place in (s.location, s.travel_start, s.travel_end)
        ]
        connection = location["sessions"]
        assert connection["totalCount"] == len(there)
        seen = [node["uuid"] for node in connection["nodes"]]
        after = connection["pageInfo"]["endCursor"]
        while connection["pageInfo"]["hasNextPage"]:
            # The cursor is bound to this location: page on with it alone.
            page = await lanes.compare(
                token,
                """query More($id: ID!, $order: [SessionOrder!], $after: String) {
                  node(id: $id) { ... on Location { sessions(orderBy: $order, first: 2,
                    after: $after) { nodes { uuid } pageInfo { hasNextPage endCursor } } } } }""",
                {"id": _global("Location", place), "order": [order], "after": after},
            )
            connection = page["data"]["node"]["sessions"]
            seen += [node["uuid"] for node in connection["nodes"]]
            after = connection["pageInfo"]["endCursor"]
        assert seen == expected_order(there, order)
    for fleet in body["data"]["fleets"]["nodes"]:
        mine = [s for s in ALL if _visible(subject, s) and str(s.fleet) == fleet["uuid"]]
        assert fleet["sessions"]["totalCount"] == len(mine)
    assert body["data"]["fleets"]["totalCount"] == 2


def _global(type_name: str, id_: uuid.UUID) -> str:
    from planner.kinds import global_id

    return global_id(type_name, id_)


async def test_a_cursor_of_another_order_is_refused_as_a_bad_pagination_token(
    ordered: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = ordered
    token = tokens["admin"]
    first = await lanes.compare(token, LIST, {"order": ["FEE_DESC"], "first": 2})
    cursor = first["data"]["sessions"]["pageInfo"]["endCursor"]
    for order in (["FEE_ASC"], ["END_TIME_DESC"], None):  # None: the default order
        body = await lanes.compare(
            token, LIST, {"order": order, "first": 2, "after": cursor}, planned=False
        )
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "INVALID_PAGINATION_TOKEN"
        assert "order" in error["message"]
    default = await lanes.compare(token, LIST, {"first": 2})
    body = await lanes.compare(
        token,
        LIST,
        {
            "order": ["REFERENCE_TIME_DESC"],
            "first": 2,
            "after": default["data"]["sessions"]["pageInfo"]["endCursor"],
        },
    )
    assert body["data"]["sessions"]["edges"]  # the default order named is the same list


async def test_more_than_one_order_is_refused_as_bad_input(
    ordered: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = ordered
    body = await lanes.compare(
        tokens["admin"], LIST, {"order": ["FEE_DESC", "END_TIME_ASC"], "first": 2}, planned=False
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "FEE_DESC, END_TIME_ASC" in error["message"]


async def test_an_empty_order_is_the_default_order(ordered: tuple[Lanes, dict[str, str]]) -> None:
    lanes, tokens = ordered
    empty = await lanes.compare(tokens["user_a"], LIST, {"order": [], "first": 50})
    default = await lanes.compare(tokens["user_a"], LIST, {"first": 50})
    assert empty == default


async def test_the_estimate_is_the_count_where_the_count_is_cheap(
    ordered: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = ordered
    document = """query Estimate($filter: SessionFilter) { sessions(filter: $filter, first: 1) {
      totalCount totalCountEstimate } locations { totalCount totalCountEstimate } }"""
    for subject in ("user_a", "operator_x"):
        body = await lanes.compare(tokens[subject], document, {})
        sessions = body["data"]["sessions"]
        assert sessions["totalCount"] == sessions["totalCountEstimate"]
        assert sessions["totalCount"] == len([s for s in ALL if _visible(subject, s)])
    body = await lanes.compare(tokens["admin"], document, {"filter": {"kind": "RENTAL"}})
    assert body["data"]["sessions"]["totalCountEstimate"] == len(
        [s for s in ALL if s.kind == "rental"]
    )
    # An admin's unfiltered estimate on PostgreSQL comes from the table's statistics,
    # which ANALYZE makes exact on a table this small; on SQLite it is the count.
    engine = lanes.app.state.gateway.engine
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE sessions"))
    body = await lanes.compare(tokens["admin"], document, {})
    assert body["data"]["sessions"]["totalCount"] == len(ALL)
    assert body["data"]["sessions"]["totalCountEstimate"] == len(ALL)
