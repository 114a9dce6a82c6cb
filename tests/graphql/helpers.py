"""Helpers for GraphQL tests: post a document, fail on unexpected errors."""

import base64
import uuid
from typing import Any

import httpx

from tests.conftest import auth


async def gql(
    client: httpx.AsyncClient, token: str, query: str, **variables: Any
) -> dict[str, Any]:
    """Run a document and return the whole response body (data and errors)."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    """Run a document that must succeed and return its data."""
    body = await gql(client, token, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def global_id(type_name: str, id_: uuid.UUID) -> str:
    """The Relay global id of an object."""
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()
