"""The planned lane answers reads byte for byte as the reference path does, and says so.

Each read runs against two apps over the same database: the gateway as it serves (reads
on the planned lane) and one with ``GRAPHQL_PLANNER=false`` (every operation on the
reference path: Strawberry and graphql-core). The HTTP status and the body bytes must
be equal (data, errors, key order, extensions), and the lane counter must show that
the planned lane ran. Documents come from the README, GraphiQL's tabs, the benchmark,
hand-written edge cases and a Hypothesis strategy that walks the schema.
"""

import asyncio
import base64
import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from bench.documents import (
    DAILY_STATS,
    FRONTEND_LIST,
    LAST_REFERENCE,
    NODE,
    ORDERED_PAGE,
    ORDERED_WALK,
    THREE_LEVELS,
    TOTAL_COUNT,
    TOTAL_COUNT_ESTIMATE,
)
from gateway.graphql.explorer import (
    COUNTS,
    LIFECYCLE,
    LOCATION_USE,
    ORDERED,
    SESSIONS,
    STATISTICS,
)
from gateway.graphql.explorer import NODE as NODE_TAB
from planner.kinds import global_id
from storage.database import READS_BY_PATH, compiled_statements
from storage.models import Session, SessionEvent
from tests.conftest import (
    BACKENDS,
    Backend,
    auth,
    in_process_client,
    prepared_database,
    running_app,
)
from tests.fixtures.dataset import (
    DEVICES,
    DOCK_X,
    EBIKE_G,
    FLEET_G,
    FLEETS,
    LOC_X,
    LOC_Y,
    LOC_Z,
    LOCATIONS,
    LOCKER_Z,
    UNUSED_ID,
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

PRINCIPALS = ["admin", "user_a", "operator_x", "operator_f"]
README = Path(__file__).resolve().parents[2] / "README.md"


class Lanes:
    """The gateway and its reference twin over one database, compared request by request."""

    def __init__(self, app: Starlette, planned: httpx.AsyncClient, reference: httpx.AsyncClient):
        self.app = app
        self.planned = planned
        self.reference = reference

    def count(self, lane: str, reason: str = "") -> float:
        registry = self.app.state.gateway.metrics.registry
        labels = {"lane": lane, "reason": reason}
        return registry.get_sample_value("session_gateway_graphql_executions_total", labels) or 0

    def reasons(self) -> dict[str, float]:
        registry = self.app.state.gateway.metrics.registry
        return {
            f"{sample.labels['lane']}/{sample.labels['reason']}": sample.value
            for metric in registry.collect()
            if metric.name == "session_gateway_graphql_executions"
            for sample in metric.samples
            if sample.name.endswith("_total")
        }

    async def compare(
        self,
        token: str,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        planned: bool | None = True,
    ) -> dict[str, Any]:
        """Post to both apps; assert equal answers and the lane taken. Returns the body.

        ``planned=None`` expects the planned lane exactly when the answer has no errors.
        """
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        headers = {**auth(token), "X-Correlation-ID": "00000000-0000-4000-8000-00000000d1ff"}
        before = self.count("planned")
        fast = await self.planned.post("/graphql", json=body, headers=headers)
        ran_planned = self.count("planned") > before
        slow = await self.reference.post("/graphql", json=body, headers=headers)
        assert fast.status_code == slow.status_code, (query, fast.text, slow.text)
        assert fast.content == slow.content, (query, variables, fast.text, slow.text)
        assert _headers(fast) == _headers(slow), query
        result: dict[str, Any] = fast.json()
        if planned is None:
            planned = "errors" not in result
        assert ran_planned is planned, (query, variables, fast.text, self.reasons())
        return result


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers, but those counting what the caller has left (each app has its own)."""
    return [(k, v) for k, v in response.headers.items() if not k.startswith("ratelimit")]


@asynccontextmanager
async def lanes_over(url: str, **settings: Any) -> AsyncIterator[Lanes]:
    """The gateway as it serves and one on the reference path, over the database at ``url``."""
    async with (
        running_app(url, **settings) as app,
        in_process_client(app) as client,
        running_app(url, graphql_planner=False, **settings) as reference_app,
        in_process_client(reference_app) as reference,
    ):
        yield Lanes(app, client, reference)


@pytest.fixture(scope="session")
async def lanes(backend: Backend) -> AsyncIterator[Lanes]:
    # Generated documents alias freely and cost much (counts too); the alias, cost and rate
    # limits have tests of their own (each app keeps its own budget, so refusals would differ).
    unlimited = {
        "graphql_max_aliases": 0,
        "graphql_max_cost": 0,
        "rate_limit_burst": 10**9,
        "rate_limit_per_second": 1e9,
    }
    async with lanes_over(backend.url, **unlimited) as lanes:
        yield lanes


# Sessions whose reference times tie with the dataset's: pages must split ties by id.
TIED = [
    S(_id(201), "parking", "ended", USER_B, DOCK_X, at(2, 7), start=at(2, 9), end=at(2, 17, 30),
      location=LOC_X),
    S(_id(202), "rental", "ended", USER_A, EBIKE_G, at(5, 11), start=at(5, 11), end=at(5, 13),
      fleet=FLEET_G, travel_start=LOC_Y, travel_end=LOC_X, fee=(120, "EUR"), payment="PAID"),
    S(_id(203), "parking", "ended", USER_A, LOCKER_Z, at(2, 7), start=at(2, 8),
      end=at(2, 17, 30), location=LOC_Z, rating=(4, None)),
]  # fmt: skip


async def _with_ties(engine: AsyncEngine) -> dict[str, str]:
    tokens = await load_dataset(engine)
    async with engine.begin() as connection:
        await connection.execute(insert(Session), [session_row(s) for s in TIED])
        await connection.execute(insert(SessionEvent), [r for s in TIED for r in event_rows(s)])
    return tokens


@pytest.fixture(scope="session", params=BACKENDS)
async def tied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Lanes, dict[str, str]]]:
    directory = tmp_path_factory.mktemp("ties")
    async with (
        prepared_database(request.param, directory, _with_ties) as (url, tokens),
        lanes_over(url) as lanes,
    ):
        yield lanes, tokens


async def test_ties_in_reference_time_page_alike_on_both_lanes(
    tied: tuple[Lanes, dict[str, str]],
) -> None:
    lanes, tokens = tied
    document = """query P($after: String, $before: String, $first: Int, $last: Int) {
      sessions(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { uuid endTime details { __typename } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    for subject in PRINCIPALS:
        seen: list[str] = []
        after = None
        while True:
            body = await lanes.compare(tokens[subject], document, {"first": 1, "after": after})
            page = body["data"]["sessions"]
            seen += [edge["node"]["uuid"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen))
        if subject == "admin":
            assert len(seen) == len(DATASET_SESSIONS) + len(TIED)
        before = after
        for _ in range(3):  # and back again
            body = await lanes.compare(tokens[subject], document, {"last": 2, "before": before})
            before = body["data"]["sessions"]["pageInfo"]["startCursor"]
            if before is None:
                break


def _operations(document: str) -> list[str | None]:
    """The query operations of a document: by name when it has several operations."""
    operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    queries = [d for d in operations if d.operation.value == "query"]
    if len(operations) == 1:
        return [None] * len(queries)
    return [d.name.value if d.name else None for d in queries]


def _readme_queries() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S)


LOCATION_ID = global_id("Location", LOC_X)
SESSION_IDS = [global_id("Session", s.id) for s in DATASET_SESSIONS]
CATALOG_IDS = (
    [global_id("Location", row[0]) for row in LOCATIONS]
    + [global_id("Device", row[0]) for row in DEVICES]
    + [global_id("Fleet", row[0]) for row in FLEETS]
)
NODE_IDS = [*SESSION_IDS, *CATALOG_IDS, global_id("Session", UNUSED_ID)]

EXAMPLES: list[tuple[str, dict[str, Any] | None]] = [
    *((q, None) for q in _readme_queries()),
    (SESSIONS, None),
    (NODE_TAB, {"id": LOCATION_ID}),
    (LIFECYCLE, None),
    (ORDERED, None),
    (COUNTS, None),
    (STATISTICS, {"from": "2025-01-01", "to": "2025-01-31"}),
    (LOCATION_USE, {"from": "2025-01-02T00:00:00Z", "to": "2025-01-21T00:00:00Z"}),
    (FRONTEND_LIST, {"location": str(LOC_X)}),
    (NODE, {"id": SESSION_IDS[0]}),
    (NODE, {"id": SESSION_IDS[4]}),
    (THREE_LEVELS, None),
    (ORDERED_PAGE, None),
    (ORDERED_WALK, None),
    (TOTAL_COUNT, None),
    (TOTAL_COUNT_ESTIMATE, None),
    (LAST_REFERENCE, {"location": str(LOC_X)}),
    (DAILY_STATS, {"location": str(LOC_X), "from": "2024-12-04", "to": "2025-01-02"}),
]


async def test_every_example_read_runs_planned_and_equals_the_reference(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    ran = 0
    for document, variables in EXAMPLES:
        for name in _operations(document):
            await lanes.compare(tokens["admin"], document, variables, name)
            ran += 1
    assert ran >= 9
    # Statements are built once per shape and compiled for the driver at their second
    # run: a third round compiles nothing (one built per request would be compiled on
    # every request if it were compiled at all).
    for _round in (2, 3):
        compiled, by_sqlalchemy = compiled_statements(), READS_BY_PATH["sqlalchemy"]
        for document, variables in EXAMPLES:
            for name in _operations(document):
                await lanes.compare(tokens["admin"], document, variables, name)
    assert compiled_statements() == compiled
    assert READS_BY_PATH["sqlalchemy"] == by_sqlalchemy  # every read by the driver
    metrics = (await lanes.planned.get("/metrics")).text
    assert f"session_gateway_db_statements_compiled_total {float(compiled)}" in metrics


EDGE_CASES = [
    # aliases, duplicates merged, __typename everywhere
    """{ a: sessions(first: 3) { edges { c: cursor node { u: uuid uuid __typename } }
         pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename } }
       b: sessions(first: 2, filter: {kind: RENTAL}) { nodes { uuid status } } __typename }""",
    # fragments, nested and inline, on the union and the interface
    """query Q { sessions(first: 12) { nodes { ...S details { ...D } } } }
       fragment S on Session { id uuid kind status userId accessKeyId createdAt updatedAt
         bookedTime bookedUntilTime startTime endTime uri fee { currency value }
         payment { id status } rating { rating comment } events { name timestamp }
         auxiliaryDevices { id uuid kind name location { name } fleet { name } } }
       fragment D on SessionDetails { __typename ... on StorageDetails { location { ...L }
         device { id kind } } ... on TravelDetails { secondsActive secondsPaused batteryUsed
         distanceTravelled startLocation { ...L } endLocation { ...L } rentalDevice { name }
         rentalFleet { id name } } }
       fragment L on Location { id uuid name timeZone }""",
    # every kind of node, missing ones, in order
    "{ nodes(ids: %s) { __typename id ... on Session { status } ... on Device { name } } }",
    # the catalog, three levels deep, with nested session pages
    """{ locations(first: 3) { edges { cursor node { name devices(first: 2) { nodes { name
         currentSession { uuid events { name } } sessions(first: 2) { nodes { uuid } }
         } pageInfo { hasNextPage endCursor } } sessions(first: 2) { nodes { uuid } } } } }
       fleets { nodes { name devices { nodes { kind fleet { name } } } } }
       devices(first: 4, filter: {kind: E_BIKE}) { nodes { uuid kind location { name } } } }""",
    "{ viewer { role userId locationIds fleetIds __typename } }",
    # filters and backwards paging
    """{ sessions(last: 2, filter: {status: [ENDED, ACTIVE], from: "2025-01-02", to: "2025-01-12"})
         { nodes { uuid } pageInfo { hasNextPage hasPreviousPage startCursor } } }""",
]


@pytest.mark.parametrize("subject", PRINCIPALS)
async def test_edge_cases_are_planned_and_equal_for_every_principal(
    lanes: Lanes, tokens: dict[str, str], subject: str
) -> None:
    ids = "[" + ", ".join(f'"{i}"' for i in NODE_IDS) + "]"
    for document in EDGE_CASES:
        await lanes.compare(tokens[subject], document.replace("%s", ids))


async def test_skip_and_include_get_a_plan_per_value_and_reuse_it(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    document = """query Q($a: Boolean!, $b: Boolean = true, $n: Int) {
      sessions(first: $n) { nodes { uuid
        fee @include(if: $a) { value }
        ...F @skip(if: $b)
        details { ... on StorageDetails @include(if: $a) { device { name } } } } } }
      fragment F on Session { status events @include(if: $a) { name } }"""
    for a in (True, False):
        for b in (True, False, None):
            for n in (1, 5):
                variables: dict[str, Any] = {"a": a, "n": n}
                if b is not None:
                    variables["b"] = b
                await lanes.compare(tokens["user_a"], document, variables)


async def test_a_page_continues_from_its_cursor_on_both_lanes(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    document = """query P($after: String) {
      sessions(first: 3, after: $after) { nodes { uuid } pageInfo { endCursor hasNextPage } } }"""
    after = None
    pages = 0
    while True:
        body = await lanes.compare(tokens["admin"], document, {"after": after})
        pages += 1
        info = body["data"]["sessions"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == 4


async def test_errors_and_writes_are_left_to_the_reference_path_and_counted(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    token = tokens["admin"]
    cases = [
        ("{ sessions(first: 0) { nodes { uuid } } }", "refused"),  # the resolver refuses
        ('{ sessions(after: "forged") { nodes { uuid } } }', "refused"),
        ('{ node(id: "not a global id") { id } }', "anomaly"),
        ("{ __schema { queryType { name } } }", "introspection"),
        ("{ nope }", "invalid"),
        ("query($n: Int!) { sessions(first: $n) { nodes { uuid } } }", "variables"),
        ('mutation { payForSession(sessionId: "x") { __typename } }', "invalid"),
    ]
    for document, reason in cases:
        before = lanes.count("reference", reason)
        await lanes.compare(token, document, planned=False)
        assert lanes.count("reference", reason) == before + 1, document


async def test_ids_naming_no_node_are_planned_and_find_nothing(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    names = ["Viewer:1", "Query:", "OperationError:", "Nope:", "Session:", "Device:42"]
    ids = [base64.b64encode(name.encode()).decode() for name in names]
    for id_ in ids:
        body = await lanes.compare(
            tokens["admin"], "query($id: ID!) { node(id: $id) { id } }", {"id": id_}
        )
        assert body["data"] == {"node": None}
    body = await lanes.compare(
        tokens["admin"], "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}
    )
    assert body["data"] == {"nodes": [None] * len(ids)}


# Documents generated from the schema: fields, aliases, fragments, directives, arguments.
SCHEMA = None


def _schema() -> Any:
    global SCHEMA
    if SCHEMA is None:
        from gateway.graphql.schema import schema

        SCHEMA = schema._schema
    return SCHEMA


_ARGUMENTS = {
    ("Query", "sessions"): [
        "(first: 3)",
        "(first: 5, filter: {status: [ENDED]})",
        "(last: 2, filter: {kind: PARKING})",
        f'(first: 4, filter: {{locationId: "{LOC_X}"}})',
        "(first: 3, orderBy: [END_TIME_ASC])",
        "(last: 2, orderBy: FEE_DESC, filter: {status: [ENDED, ACTIVE]})",
        f'(first: 2, orderBy: [START_TIME_DESC], filter: {{locationId: "{LOC_X}"}})',
    ],
    **{
        (parent, "sessions"): [
            "",
            "(first: 2, orderBy: [FEE_ASC])",
            "(first: 1, orderBy: [END_TIME_DESC])",
            "(orderBy: [REFERENCE_TIME_ASC])",
        ]
        for parent in ("Location", "Device", "Fleet")
    },
    ("Query", "devices"): ["(first: 3)", "(filter: {kind: LOCKER})"],
    ("Query", "locations"): ["(first: 2)", ""],
    ("Query", "fleets"): [""],
    ("Query", "node"): [f'(id: "{i}")' for i in NODE_IDS],
    ("Query", "sessionStats"): [
        "",
        "(groupBy: [LOCATION, KIND])",
        '(groupBy: [USER], bucket: DAY, timeZone: "Europe/Amsterdam")',
        f'(bucket: WEEK, filter: {{locationId: "{LOC_X}"}})',
        "(groupBy: [DEVICE, FLEET, STATUS], bucket: HOUR)",
    ],
    ("Location", "utilization"): [
        '(from: "2025-01-01T00:00:00Z", to: "2025-01-21T00:00:00Z")',
        '(from: "2025-01-10T06:30:00+02:00", to: "2025-01-11T00:00:00Z")',
    ],
    ("Query", "nodes"): [
        f'(ids: ["{a}", "{b}"])' for a, b in zip(NODE_IDS, NODE_IDS[5:], strict=False)
    ],
}
_DIRECTIVES = ["", "", "", " @skip(if: $flag)", " @include(if: $flag)", " @include(if: false)"]


@st.composite
def _selection(draw: st.DrawFn, type_name: str, depth: int) -> str:
    from graphql import GraphQLObjectType, get_named_type, is_abstract_type, is_leaf_type

    schema = _schema()
    graphql_type = schema.type_map[type_name]
    if is_abstract_type(graphql_type):
        parts = ["__typename"]
        for possible in schema.get_possible_types(graphql_type):
            if draw(st.booleans()):
                inner = draw(_selection(possible.name, depth + 1))
                directive = draw(st.sampled_from(_DIRECTIVES))
                parts.append(f"... on {possible.name}{directive} {{ {inner} }}")
        return " ".join(parts)
    assert isinstance(graphql_type, GraphQLObjectType)
    names = [
        name
        for name, field in graphql_type.fields.items()
        if depth < 4 or is_leaf_type(get_named_type(field.type))
    ]
    if not names:
        return "__typename"
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    parts = []
    for name in chosen:
        field = graphql_type.fields[name]
        named = get_named_type(field.type)
        arguments = ""
        if (type_name, name) in _ARGUMENTS:
            arguments = draw(st.sampled_from(_ARGUMENTS[(type_name, name)]))
        elif "first" in field.args:
            arguments = draw(st.sampled_from(["", "(first: 1)", "(first: 2)"]))
        # Named after the parent type and arguments: same-named fields of different types
        # under one abstract selection would conflict otherwise.
        tag = zlib.crc32(f"{type_name}{arguments}".encode()) % 10_000
        alias = draw(st.sampled_from(["", f"{name}_{type_name}{tag}: "]))
        if name == "kind":  # Session.kind and Device.kind differ in type: always apart
            alias = f"{name}_{type_name}{tag}: "
        directive = draw(st.sampled_from(_DIRECTIVES))
        sub = "" if is_leaf_type(named) else "{ " + draw(_selection(named.name, depth + 1)) + " }"
        part = f"{alias}{name}{arguments}{directive} {sub}"
        parts.append(part)
        if draw(st.integers(0, 5)) == 0:
            parts.append(part)  # the same field twice: merged
    if draw(st.booleans()):
        parts.append("__typename")
    return " ".join(parts)


@st.composite
def _document(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    body = draw(_selection("Query", 0))
    if draw(st.booleans()):  # the same selection through a named fragment
        document = f"query G{{flags}} {{ ...Root }} fragment Root on Query {{ {body} }}"
    else:
        document = f"query G{{flags}} {{ {body} }}"
    uses_flag = "$flag" in body
    document = document.replace("{flags}", "($flag: Boolean!)" if uses_flag else "")
    variables = {"flag": draw(st.booleans())} if uses_flag else {}
    return document, variables


async def test_generated_reads_are_planned_and_byte_equal(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    loop = asyncio.get_running_loop()
    answers: list[bool] = []

    @given(case=_document(), subject=st.sampled_from(PRINCIPALS))
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    def check(case: tuple[str, dict[str, Any]], subject: str) -> None:
        document, variables = case
        # A generated document may break a limit (aliases, depth): then both lanes refuse it.
        future = asyncio.run_coroutine_threadsafe(
            lanes.compare(tokens[subject], document, variables, planned=None), loop
        )
        answers.append("errors" not in future.result(timeout=60))

    await asyncio.to_thread(check)
    assert sum(answers) >= 0.9 * len(answers), f"{sum(answers)} of {len(answers)} ran planned"


def _planned_reads(app: Starlette) -> Any:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql" and hasattr(route, "endpoint"):
            return route.endpoint.view.planned
    raise AssertionError("no /graphql route")


async def test_a_document_is_prepared_once_and_its_plan_reused_with_new_variables(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    planned = _planned_reads(lanes.app)
    document = """query Reuse($n: Int, $f: Boolean!) {
      sessions(first: $n) { nodes { uuid status @include(if: $f) } } }"""
    for n in (1, 2, 3, 4):
        for flag in (True, False):
            await lanes.compare(tokens["admin"], document, {"n": n, "f": flag})
    prepared = planned.documents[(planned.version, document, None)]
    assert len(prepared.plans) == 2  # one per value of $f, whatever $n


async def test_arguments_and_costs_follow_each_requests_variables(
    lanes: Lanes, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coerced arguments and cost estimates are kept by variable values, never reused wrongly."""
    from gateway.graphql import planning

    monkeypatch.setattr(planning, "MAX_MEMOS", 2)
    document = """query Memo($n: Int, $f: SessionFilter) {
      sessions(first: $n, filter: $f) { nodes { uuid status } } }"""
    filters = [None, {"status": ["ENDED"]}, {"status": ["ACTIVE", "BOOKED"]}, {"kind": "RENTAL"}]
    sizes = {}
    for round_ in range(2):  # the second round finds some memos evicted, others kept
        for n in (1, 3, 1, 2):
            for variables_filter in filters:
                variables = {"n": n, "f": variables_filter}
                body = await lanes.compare(tokens["admin"], document, variables)
                nodes = body["data"]["sessions"]["nodes"]
                assert len(nodes) <= n
                assert body["extensions"]["cost"]["requested"] >= n
                if variables_filter and "status" in variables_filter:
                    assert {node["status"] for node in nodes} <= set(variables_filter["status"])
                key = (n, str(variables_filter))
                assert sizes.setdefault(key, len(nodes)) == len(nodes), (round_, key)
    prepared = _planned_reads(lanes.app).documents[
        (_planned_reads(lanes.app).version, document, None)
    ]
    assert len(prepared.costs.results) <= 2


async def test_the_plan_cache_stays_within_its_bound(
    lanes: Lanes, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.graphql import planning

    planned = _planned_reads(lanes.app)
    monkeypatch.setattr(planning, "MAX_DOCUMENTS", 8)
    for index in range(30):
        document = f"{{ n{index}: viewer {{ role }} }}"
        response = await lanes.planned.post(
            "/graphql", json={"query": document}, headers=auth(tokens["admin"])
        )
        assert response.json()["data"] == {f"n{index}": {"role": "admin"}}
    assert len(planned.documents) <= 8


async def test_a_null_directive_variable_is_refused_alike(lanes: Lanes, tokens: dict[str, str]):
    document = "query($b: Boolean = true) { viewer @include(if: $b) { role } }"
    before = lanes.count("reference", "variables")
    body = await lanes.compare(tokens["admin"], document, {"b": None}, planned=False)
    assert body["errors"]
    assert lanes.count("reference", "variables") == before + 1


async def test_declined_documents_are_cached_as_reasons_not_exceptions(
    lanes: Lanes, tokens: dict[str, str]
) -> None:
    # A cached exception raised again on every request would keep each request's frames.
    planned = _planned_reads(lanes.app)
    for _ in range(3):
        await lanes.compare(tokens["admin"], "{ nope }", planned=False)
    assert planned.documents[(planned.version, "{ nope }", None)] == "invalid"


async def test_a_plan_past_its_size_bound_is_not_made(
    lanes: Lanes, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fragments can multiply what a small document selects; translation stops at the bound.
    from gateway.graphql import planning

    monkeypatch.setattr(planning, "MAX_PLAN_STEPS", 8)
    document = """query Big { ...S ...S }
      fragment S on Query { a: sessions(first: 2) { nodes { ...F } } b: viewer { role } }
      fragment F on Session { uuid kind status userId startTime endTime fee { value } }"""
    before = lanes.count("reference", "too_large")
    await lanes.compare(tokens["admin"], document, planned=False)
    assert lanes.count("reference", "too_large") == before + 1
