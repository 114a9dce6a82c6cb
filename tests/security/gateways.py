"""Gateways with settings of a test's choosing, over the shared dataset database."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import in_process_client


def settings_for(url: str, **overrides: Any) -> Settings:
    """The test gateway's settings over ``url`` with ``overrides``."""
    return Settings(
        database_url=url,
        public_base_url="https://gateway.test",
        pagination_secret="test-signing-key-0123456789",
        **overrides,
    )


@asynccontextmanager
async def gateway(url: str, **overrides: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """A running gateway with ``overrides`` applied to its settings, and a client for it."""
    app = create_app(settings_for(url, **overrides))
    async with LifespanManager(app), in_process_client(app) as client:
        yield app, client


def graphql_error(response: httpx.Response) -> dict[str, Any]:
    """The first GraphQL error of a response, asserting the response is GraphQL-shaped."""
    body = response.json()
    assert "errors" in body, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["correlationId"] == response.headers["x-correlation-id"]
    return error
