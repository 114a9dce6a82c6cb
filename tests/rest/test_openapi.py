"""The OpenAPI document: valid 3.1, exactly the five documented paths, fully described."""

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from gateway.rest.openapi import openapi_document

EXAMPLES = json.loads((Path(__file__).parent / "documented_examples.json").read_text())
PATHS = {
    "/session/v1/device-sessions": True,
    "/session/v1/device-sessions/{session_id}": True,
    "/session/v1/devices/{device_id}/sessions": True,
    "/session/v2/sessions": False,
    "/session/v2/users/{user_id}/sessions/{session_id}": False,
}


@pytest.fixture(scope="module")
async def document(client):
    response = await client.get("/session/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_the_document_is_served_without_a_token_and_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document == openapi_document("https://gateway.test")


async def test_it_describes_exactly_the_five_get_paths_and_marks_v1_deprecated(document):
    assert {path: set(item) for path, item in document["paths"].items()} == {
        path: {"get"} for path in PATHS
    }
    for path, deprecated in PATHS.items():
        assert document["paths"][path]["get"]["deprecated"] is deprecated


async def test_every_operation_needs_a_bearer_token(document):
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    assert document["security"] == [{"bearerAuth": []}]


async def test_every_parameter_has_a_type_and_every_number_a_range_and_default(document):
    parameters = document["components"]["parameters"]
    for parameter in parameters.values():
        schema = parameter["schema"]
        assert schema["type"] in {"string", "integer", "boolean"}
        if schema["type"] == "integer":
            assert {"minimum", "maximum", "default"} <= set(schema)
    assert parameters["limit"]["schema"] | {} == {
        "type": "integer", "minimum": 1, "maximum": 1000, "default": 100
    }  # fmt: skip
    assert parameters["page_size"]["schema"]["default"] == 100
    assert parameters["active"]["schema"] == {"type": "boolean", "default": False}
    assert parameters["status"]["schema"]["enum"] == ["active", "ended"]


async def test_every_operation_documents_its_statuses_and_headers(document):
    for path, deprecated in PATHS.items():
        responses = document["paths"][path]["get"]["responses"]
        expected = {"200", "400", "401", "429", "500", "503"} | ({"404"} if "{" in path else set())
        assert set(responses) == expected, path
        for status, response in responses.items():
            assert "X-Correlation-ID" in response["headers"]
            assert ("Deprecation" in response["headers"]) is deprecated
            schema = response["content"]["application/json"]["schema"]["$ref"]
            assert (schema == "#/components/schemas/Error") is (status != "200")
        assert "WWW-Authenticate" in responses["401"]["headers"]


@pytest.mark.parametrize(
    ("component", "example"),
    [("SessionV1", "v1_session"), ("SessionV2", "v2_session"), ("Error", "error"),
     ("SessionListV1", "v1_list"), ("SessionListV2", "v2_list"), ("Travel", None)],
)  # fmt: skip
async def test_the_components_have_the_documented_key_sets(document, component, example):
    schema = document["components"]["schemas"][component]
    documented = EXAMPLES[example] if example else EXAMPLES["v2_session"]["travel"]
    assert set(schema["properties"]) == set(schema["required"]) == set(documented)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    "path", ["/location/v1/locations/{id}", "/device/v1/devices/{id}", "/fleet/v1/fleets/{id}"]
)
async def test_a_refs_uri_is_documented_as_another_services_path_which_is_not_served_here(
    document, client, tokens, path
):
    description = document["components"]["schemas"]["Ref"]["properties"]["uri"]["description"]
    assert path in description and "not this gateway" in description
    response = await client.get(
        path.replace("{id}", "00000000-0000-0000-0000-000000000001"),
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    assert response.status_code == 404
