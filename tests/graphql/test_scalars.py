"""Custom scalars name their specification and parse input as strictly as REST does."""

import pytest

from tests.conftest import auth
from tests.graphql.helpers import gql

SCALARS = ["Date", "DateTime", "Decimal", "UUID"]
BY_DATE = "query($f: SessionFilter) { sessions(filter: $f, first: 1) { nodes { uuid } } }"
BY_LOCATION = "query($f: DeviceFilter) { devices(filter: $f, first: 1) { nodes { uuid } } }"


@pytest.mark.parametrize("name", SCALARS)
async def test_every_custom_scalar_names_its_specification(client, tokens, name):
    body = await gql(
        client,
        tokens["admin"],
        "query($n: String!) { __type(name: $n) { specifiedByURL } }",
        n=name,
    )
    assert body["data"]["__type"]["specifiedByURL"].startswith("https://")


@pytest.mark.parametrize("value", ["20250101", "2025-W01-1", "2025-001", "2025-1-1", " 2025-01-01"])
async def test_a_date_that_rest_refuses_graphql_refuses_too(client, tokens, value):
    rest = await client.get(f"/session/v2/sessions?from={value}", headers=auth(tokens["admin"]))
    assert rest.status_code == 400
    body = await gql(client, tokens["admin"], BY_DATE, f={"from": value})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION"
    assert "is not a date (YYYY-MM-DD)" in error["message"]


async def test_a_well_formed_date_is_accepted(client, tokens):
    body = await gql(client, tokens["admin"], BY_DATE, f={"from": "2025-01-01"})
    assert "errors" not in body


@pytest.mark.parametrize(
    "value", ["{00000000-0000-0000-0000-000000000000}", "0" * 32, "urn:uuid:" + "0" * 32]
)
async def test_a_uuid_that_rest_refuses_graphql_refuses_too(client, tokens, value):
    rest = await client.get(
        f"/session/v2/sessions?location_id={value}", headers=auth(tokens["admin"])
    )
    assert rest.status_code == 400
    body = await gql(client, tokens["admin"], BY_LOCATION, f={"locationId": value})
    [error] = body["errors"]
    assert "is not a UUID" in error["message"]
