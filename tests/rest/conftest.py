"""REST fixtures: a client that checks every response it receives against the OpenAPI document."""

import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from gateway.rest.openapi import openapi_document
from tests.conftest import auth

BASE_URL = "https://gateway.test"


class OpenApiChecker:
    """Looks up the documented response of a path and status and validates bodies against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.templates = [
            (re.compile(re.sub(r"\{[^/]+\}", "[^/]+", path)), path) for path in document["paths"]
        ]

    def template_of(self, path: str) -> str | None:
        """The documented path template matching a concrete path."""
        return next((t for regex, t in self.templates if regex.fullmatch(path)), None)

    def response_spec(self, path: str, method: str, status: int) -> dict[str, Any] | None:
        """The documented response, or None for an undocumented path or method."""
        template = self.template_of(path)
        operation = (
            self.document["paths"].get(template, {}).get(method.lower()) if template else None
        )
        if operation is None:
            return None
        responses = operation["responses"]
        assert str(status) in responses, f"{method} {template} does not document {status}"
        return responses[str(status)]

    def validate(self, schema_ref: str, body: Any) -> None:
        """Validate a body against a component given as ``#/components/...``."""
        # The components ride along so that "#/components/..." resolves inside this schema.
        schema = {"$ref": schema_ref, "components": self.document["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])

    def check(self, response: httpx.Response) -> None:
        """Assert the response is what the document says for its path, method and status."""
        request = response.request
        if request.url.path == "/session/openapi.json":
            return
        spec = self.response_spec(request.url.path, request.method, response.status_code)
        assert response.headers["content-type"] == "application/json"
        if spec is None:
            # Unknown paths and other methods still answer with the envelope.
            self.validate("#/components/schemas/Error", response.json())
            return
        for name, header in spec.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, f"missing documented header {name}"
        if request.method != "HEAD":
            self.validate(spec["content"]["application/json"]["schema"]["$ref"], response.json())


class RestClient:
    """The in-process client, checking every response against the OpenAPI document."""

    def __init__(self, client: httpx.AsyncClient, checker: OpenApiChecker) -> None:
        self.client = client
        self.checker = checker

    async def request(
        self, method: str, url: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request (with a bearer token if given) and check the response."""
        headers = {**(auth(token) if token else {}), **kwargs.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        self.checker.check(response)
        return response

    async def get(self, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """GET and check."""
        return await self.request("GET", url, token, **kwargs)

    async def ok(self, url: str, token: str, **kwargs: Any) -> Any:
        """GET, assert 200, and return the JSON body."""
        response = await self.get(url, token, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def openapi() -> OpenApiChecker:
    """The checker over the document the gateway serves."""
    return OpenApiChecker(openapi_document(BASE_URL))


@pytest.fixture(scope="session")
def rest(client: httpx.AsyncClient, openapi: OpenApiChecker) -> RestClient:
    """A checking client over the shared app."""
    return RestClient(client, openapi)
