"""The five documented GET paths of the Session API, and their OpenAPI document."""

from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.responses import JSONResponse
from gateway.rest.context import uris_of
from gateway.rest.openapi import openapi_document
from gateway.rest.v1 import v1_routes
from gateway.rest.v2 import v2_routes

OPENAPI_PATH = "/session/openapi.json"


@lru_cache(maxsize=4)
def _document(base_url: str) -> dict[str, Any]:
    return openapi_document(base_url)


async def openapi(request: Request) -> Response:
    """GET /session/openapi.json: the OpenAPI 3.1 document; public, like the documentation."""
    return JSONResponse(_document(uris_of(request).base))


def rest_routes() -> list[BaseRoute]:
    """The REST routes."""
    return [*v1_routes(), *v2_routes(), Route(OPENAPI_PATH, openapi)]
