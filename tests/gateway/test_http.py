"""The HTTP surface around the APIs: auth on /graphql, GraphiQL, health, metrics, correlation."""

import uuid

import pytest

from tests.conftest import auth

QUERY = {"query": "{ viewer { role } }"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer sgw_" + "x" * 43},
        {"Authorization": "Bearer not-a-token"},
    ],
)
async def test_graphql_without_a_valid_token_is_401_with_a_clear_message(client, headers):
    response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHORIZED"
    assert "token" in error["message"]


async def test_graphiql_loads_in_a_browser_without_a_token(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_valid_token_runs_the_query(client, tokens):
    response = await client.post("/graphql", json=QUERY, headers=auth(tokens["admin"]))
    body = response.json()
    assert body["data"] == {"viewer": {"role": "admin"}} and "errors" not in body


async def test_a_syntax_error_comes_back_as_a_graphql_error_with_a_code(client, tokens):
    response = await client.post(
        "/graphql", json={"query": "{ nope"}, headers=auth(tokens["admin"])
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION"
    assert "Syntax Error" in error["message"]


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_metrics_count_requests_and_sql_statements(client, tokens):
    await client.post("/graphql", json=QUERY, headers=auth(tokens["admin"]))
    text = (await client.get("/metrics")).text
    assert 'session_gateway_requests_total{method="POST",route="/graphql",status="200"}' in text
    statements = [
        line for line in text.splitlines() if line.startswith("session_gateway_db_statements_total")
    ]
    assert statements and float(statements[0].split()[-1]) > 0


async def test_a_uuid_correlation_id_is_echoed_and_others_are_replaced(client):
    given = str(uuid.uuid4())
    echoed = await client.get("/healthz", headers={"X-Correlation-ID": given})
    assert echoed.headers["x-correlation-id"] == given
    replaced = await client.get("/healthz", headers={"X-Correlation-ID": "drop table"})
    assert uuid.UUID(replaced.headers["x-correlation-id"])
    assert replaced.headers["x-correlation-id"] != "drop table"


async def test_the_graphql_error_carries_the_correlation_id(client):
    given = str(uuid.uuid4())
    response = await client.post("/graphql", json=QUERY, headers={"X-Correlation-ID": given})
    assert response.json()["errors"][0]["extensions"]["correlationId"] == given


async def test_unknown_paths_get_the_documented_envelope(client):
    response = await client.get("/nowhere", headers={"X-Correlation-ID": str(uuid.UUID(int=7))})
    assert response.status_code == 404
    assert response.json() == {
        "error_message": "no resource at /nowhere",
        "status_code": 404,
        "correlation_id": str(uuid.UUID(int=7)),
        "error_code": "ERRORS.NOT_FOUND",
    }


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_http_is_a_400_pointing_at_the_websocket(client, tokens, method):
    query = "subscription { sessionUpdated { uuid } }"
    if method == "POST":
        response = await client.post(
            "/graphql", json={"query": query}, headers=auth(tokens["admin"])
        )
    else:
        response = await client.get(
            "/graphql", params={"query": query}, headers=auth(tokens["admin"])
        )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body  # a request error: nothing ran
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "WebSocket" in error["message"]
    assert error["extensions"]["correlationId"] == response.headers["x-correlation-id"]
