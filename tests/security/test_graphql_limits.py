"""GraphQL limits: depth, aliases, tokens, body size, page sizes, cost, batching, introspection."""

import uuid

import pytest
from graphql import get_introspection_query
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import DEFAULT_MAXSIZE, _get_validate_cache

from gateway.errors import GENERIC_MESSAGE
from gateway.graphql.media import GRAPHQL_RESPONSE
from resolvers import catalog
from tests.conftest import auth
from tests.fixtures.dataset import LOC_X, LOC_Y, SESSIONS, UNUSED_ID
from tests.graphql.helpers import global_id
from tests.security.gateways import gateway, graphql_error


def chain(links: int) -> str:
    """A query nested 2 + 3 x links fields deep, cheap at every level (first: 1)."""
    inner = "devices(first: 1) { nodes { location { " * links + "name" + " } } }" * links
    return "{ locations(first: 1) { nodes { " + inner + " } } }"


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(count)) + " }"


async def post(client, token, query, **variables):
    """POST a document asking for graphql-response+json, where a refusal keeps its 4xx."""
    headers = {**auth(token), "Accept": GRAPHQL_RESPONSE}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def cost_of(response):
    return response.json()["extensions"]["cost"]


async def test_an_operation_at_the_depth_limit_runs_and_one_deeper_is_refused(client, tokens):
    assert (await post(client, tokens["admin"], chain(2))).status_code == 200  # depth 8
    refused = await post(client, tokens["admin"], chain(3))  # depth 11
    assert refused.status_code == 400
    error = graphql_error(refused)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION"
    assert "11 levels deep; at most 10" in error["message"]


async def test_the_depth_limit_is_a_setting(backend, tokens):
    async with gateway(backend.url, graphql_max_depth=4) as (_, client):
        refused = await post(client, tokens["admin"], chain(1))  # depth 5
    assert refused.status_code == 400
    assert "at most 4" in graphql_error(refused)["message"]


async def test_twenty_aliases_run_and_twenty_one_are_refused(client, tokens):
    assert (await post(client, tokens["admin"], aliased(20))).status_code == 200
    refused = await post(client, tokens["admin"], aliased(21))
    assert refused.status_code == 400
    assert "21 aliases found; at most 20" in graphql_error(refused)["message"]


async def test_aliases_inside_fragments_count_once_per_spread(client, tokens):
    query = "{ ...A ...B } fragment A on Query { ...C ...C } fragment B on Query { ...C }"
    query += " fragment C on Query { " + " ".join(f"c{i}: viewer {{ role }}" for i in range(7))
    refused = await post(client, tokens["admin"], query + " }")
    assert refused.status_code == 400
    assert "21 aliases found" in graphql_error(refused)["message"]


async def test_a_document_over_the_token_limit_is_refused_before_validation(client, tokens):
    query = "{ viewer { " + "role " * 2000 + "} }"
    refused = await post(client, tokens["admin"], query)
    assert refused.status_code == 400
    assert "more than 2000 tokens" in graphql_error(refused)["message"]


async def test_a_body_over_the_limit_is_413_whether_or_not_its_length_is_declared(backend, tokens):
    body = b'{"query": "{ viewer { role } }", "padding": "' + b"x" * 2000 + b'"}'

    async def chunked():
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    headers = {**auth(tokens["admin"]), "Content-Type": "application/json"}
    async with gateway(backend.url, graphql_max_body_bytes=1000) as (_, client):
        declared = await client.post("/graphql", content=body, headers=headers)
        streamed = await client.post("/graphql", content=chunked(), headers=headers)
        small = await client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=headers
        )
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        error = graphql_error(response)
        assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert "at most 1000" in error["message"]
    assert small.status_code == 200


@pytest.mark.parametrize(("argument", "value"), [("first", 101), ("last", 101), ("first", 0)])
async def test_page_sizes_outside_1_to_100_keep_their_validation_error(
    client, tokens, argument, value
):
    response = await post(
        client, tokens["admin"], f"{{ sessions({argument}: {value}) {{ nodes {{ uuid }} }} }}"
    )
    error = graphql_error(response)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"] == f"{argument} must be between 1 and 100, got {value}"


async def test_a_list_without_a_page_size_returns_20(bulk):
    response = await post(bulk.client, bulk.admin_token, "{ sessions { nodes { uuid } } }")
    assert len(response.json()["data"]["sessions"]["nodes"]) == 20
    assert cost_of(response) == {"requested": 20, "actual": 20, "maximum": 50_000}


NESTED = "{ locations(first: 10) { nodes { uuid sessions(first: 20) { nodes { uuid } } } } }"


async def test_requested_cost_is_the_product_of_page_sizes_and_actual_what_came_back(
    client, tokens
):
    response = await post(client, tokens["admin"], NESTED)
    assert response.status_code == 200
    # 10 locations + 10 x 20 sessions requested; 3 locations and 5 + 4 + 2 sessions returned.
    assert cost_of(response) == {"requested": 210, "actual": 14, "maximum": 50_000}


async def test_a_count_costs_a_full_page_once_per_connection(client, tokens):
    query = """{ locations(first: 10) { totalCount nodes { sessions(first: 20) { ...C } } } }
    fragment C on SessionConnection { totalCount n: totalCountEstimate }"""
    response = await post(client, tokens["admin"], query)
    # 10 locations and their count (100), and per location 20 sessions and 2 counts.
    assert cost_of(response)["requested"] == 10 + 100 + 10 * (20 + 200)
    # 3 locations came back, with 1 + 3 x 2 counts (no session nodes were selected).
    assert cost_of(response)["actual"] == 3 + 100 * (1 + 3 * 2)
    counted = "{ sessions(first: 1) { totalCount } }"
    assert cost_of(await post(client, tokens["user_a"], counted)) == {
        "requested": 101,
        "actual": 100,
        "maximum": 50_000,
    }


async def test_cost_follows_variables_fragments_and_aliases(client, tokens):
    query = """query($n: Int) { places: locations(first: 10) { ...L } }
    fragment L on LocationConnection {
      edges { node { s: sessions(first: $n) { nodes { uuid } } } }
    }"""
    response = await post(client, tokens["admin"], query, n=4)
    assert cost_of(response) == {"requested": 50, "actual": 3 + 4 + 4 + 2, "maximum": 50_000}


async def test_nodes_by_id_cost_one_per_id(client, tokens):
    ids = [
        global_id("Location", LOC_X),
        global_id("Location", UNUSED_ID),
        global_id("Location", LOC_Y),
    ]
    response = await post(
        client, tokens["admin"], "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids
    )
    assert cost_of(response) == {"requested": 3, "actual": 2, "maximum": 50_000}


async def test_a_node_by_id_costs_one(client, tokens):
    query = "query($id: ID!) { node(id: $id) { id } }"
    found = await post(client, tokens["admin"], query, id=global_id("Location", LOC_X))
    missing = await post(client, tokens["admin"], query, id=global_id("Location", UNUSED_ID))
    assert cost_of(found) == {"requested": 1, "actual": 1, "maximum": 50_000}
    assert cost_of(missing) == {"requested": 1, "actual": 0, "maximum": 50_000}


async def test_events_count_as_a_default_page_per_session_and_what_came_back(client, tokens):
    query = """{ sessions(first: 4, filter: {status: [ENDED]}) {
      nodes { events { name } auxiliaryDevices { name } } } }"""
    response = await post(client, tokens["admin"], query)
    nodes = response.json()["data"]["sessions"]["nodes"]
    returned = sum(len(n["events"]) + len(n["auxiliaryDevices"]) for n in nodes)
    assert returned > len(nodes)
    # 4 sessions + 4 x (20 events + 20 auxiliary devices) requested.
    assert cost_of(response) == {"requested": 164, "actual": 4 + returned, "maximum": 50_000}


def fragment_bomb(levels: int, leaf: str) -> str:
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ {leaf} }}"


@pytest.mark.parametrize("planner", [True, False])
async def test_a_fragment_bomb_saturates_its_cost_and_is_refused_over_budget(
    backend, tokens, planner
):
    bomb = fragment_bomb(60, "sessions(first: 100) { nodes { uuid } }")
    async with gateway(backend.url, graphql_planner=planner) as (_, client):
        response = await post(client, tokens["admin"], bomb)
    assert response.status_code == 400, response.text
    assert graphql_error(response)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert cost_of(response) == {"requested": 2**53 - 1, "actual": 0, "maximum": 50_000}


async def test_cost_is_reported_on_errors_too(client, tokens):
    response = await post(client, tokens["admin"], "{ sessions(first: 101) { nodes { uuid } } }")
    assert cost_of(response) == {"requested": 100, "actual": 0, "maximum": 50_000}
    syntax = await post(client, tokens["admin"], "{ nope")
    assert cost_of(syntax) == {"requested": 0, "actual": 0, "maximum": 50_000}
    assert syntax.status_code == 400


HUGE = """{ locations(first: 100) { nodes { devices(first: 100) { nodes {
  sessions(first: 100) { nodes { uuid } } } } } } }"""


async def test_an_operation_over_the_budget_is_refused_before_it_touches_data(
    client, tokens, statements
):
    with statements.counting() as counter:
        response = await post(client, tokens["admin"], HUGE)
    assert response.status_code == 400
    error = graphql_error(response)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "1010100 nodes; at most 50000" in error["message"]
    assert cost_of(response) == {"requested": 1_010_100, "actual": 0, "maximum": 50_000}
    assert "data" not in response.json()
    assert counter.count == 1, "only the token was looked up"


async def test_the_budget_is_a_setting(backend, tokens):
    async with gateway(backend.url, graphql_max_cost=100) as (_, client):
        refused = await post(client, tokens["admin"], NESTED)
        allowed = await post(client, tokens["admin"], "{ sessions(first: 100) { nodes { uuid } } }")
    assert graphql_error(refused)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert allowed.status_code == 200 and "errors" not in allowed.json()


async def test_a_batch_runs_each_operation_and_reports_each_cost(client, tokens):
    batch = [
        {"query": "{ viewer { role } }"},
        {
            "query": "query($n: Int) { sessions(first: $n) { nodes { uuid } } }",
            "variables": {"n": 2},
        },
    ]
    response = await client.post("/graphql", json=batch, headers=auth(tokens["admin"]))
    assert response.status_code == 200
    first, second = response.json()
    assert first["data"] == {"viewer": {"role": "admin"}}
    assert len(second["data"]["sessions"]["nodes"]) == 2
    assert second["extensions"]["cost"] == {"requested": 2, "actual": 2, "maximum": 50_000}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([{"query": "{ viewer { role } }"}] * 11, "at most 10 operations, this one has 11"),
        ([], "non-empty array"),
        ([1, 2], "non-empty array"),
        ("{ viewer { role } }", "JSON object"),
    ],
)
async def test_batches_are_limited(client, tokens, body, reason):
    response = await client.post("/graphql", json=body, headers=auth(tokens["admin"]))
    assert response.status_code == 400
    error = graphql_error(response)
    assert error["extensions"]["code"] == "VALIDATION"
    assert reason in error["message"]


async def test_batching_can_be_turned_off(backend, tokens):
    async with gateway(backend.url, graphql_max_batch=0) as (_, client):
        response = await client.post(
            "/graphql", json=[{"query": "{ viewer { role } }"}], headers=auth(tokens["admin"])
        )
    assert response.status_code == 400
    assert "turned off" in graphql_error(response)["message"]


async def test_the_standard_introspection_query_passes_every_limit(client, tokens):
    response = await post(client, tokens["admin"], get_introspection_query())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_production_settings_turn_introspection_and_suggestions_off(backend, tokens):
    admin = tokens["admin"]
    async with gateway(backend.url, graphql_introspection=False, graphiql=False) as (_, client):
        schema = await post(client, admin, "{ __schema { queryType { name } } }")
        typed = await post(client, admin, "{ __typename viewer { role } }")
        typo = await post(client, admin, "{ sesions { nodes { uuid } } }")
        ide = await client.get("/graphql", headers={"Accept": "text/html", **auth(admin)})
    assert schema.status_code == 400
    assert "introspection" in graphql_error(schema)["message"]
    assert typed.json()["data"] == {"__typename": "Query", "viewer": {"role": "admin"}}
    assert graphql_error(typo)["message"] == "Cannot query field 'sesions' on type 'Query'."
    assert ide.status_code == 404


async def test_field_suggestions_stay_on_while_introspection_is_on(client, tokens):
    typo = await post(client, tokens["admin"], "{ sesions { nodes { uuid } } }")
    assert "Did you mean" in graphql_error(typo)["message"]


async def test_unexpected_errors_are_masked_and_expected_ones_keep_their_message(
    client, tokens, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 host=db-primary.internal")

    monkeypatch.setattr(catalog, "list_fleets", broken)
    response = await post(client, tokens["admin"], "{ fleets { nodes { uuid } } }")
    assert response.status_code == 200
    error = graphql_error(response)
    assert error == {
        "message": GENERIC_MESSAGE,
        "locations": error["locations"],
        "path": ["fleets"],
        "extensions": {"code": "INTERNAL", "correlationId": error["extensions"]["correlationId"]},
    }
    assert "hunter2" not in response.text and "db-primary" not in response.text


async def test_the_parse_and_validation_caches_hit_with_the_limits_on(client, tokens):
    # The caches are module-level LRUs keyed by maxsize (strawberry 0.341); a unique
    # document makes this test's counts independent of every other test's. Introspection
    # keeps it on the reference path (the planned lane keeps prepared documents itself).
    alias = f"u{uuid.uuid4().hex}"
    query = (
        "{ viewer { role } sessions(first: 3) { nodes { uuid } } "
        + alias
        + ': viewer { role } __type(name: "Viewer") { name } }'
    )
    validations, parses = _get_validate_cache(DEFAULT_MAXSIZE), _get_parse_cache(DEFAULT_MAXSIZE)
    before_validation, before_parse = validations.cache_info(), parses.cache_info()
    for _ in range(4):
        response = await post(client, tokens["admin"], query)
        assert response.status_code == 200 and "errors" not in response.json()
    validation, parse = validations.cache_info(), parses.cache_info()
    assert validation.misses - before_validation.misses == 1
    assert validation.hits - before_validation.hits == 3
    assert parse.misses - before_parse.misses == 1
    assert parse.hits - before_parse.hits == 3


async def test_the_dataset_has_what_the_cost_tests_assume():
    per_location = [
        sum(1 for s in SESSIONS if loc in (s.location, s.travel_start, s.travel_end))
        for loc in (LOC_X, LOC_Y)
    ]
    assert per_location == [5, 4]
