"""What /graphql checks before Strawberry sees a request, and refusals in GraphQL's shape.

In order, cheapest first: the content type (415), the declared body size (413), the
token (401; the client address pays for the attempt), the caller's rate limit (429),
then the body is read, stopping at the size limit (413) or the time limit (408). A
refusal is a GraphQL response (``errors[].extensions.code`` and ``correlationId``) with
the HTTP status of its code, so a client learns why before anything executes.
"""

import logging
import sys
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from gateway.auth import request_scope
from gateway.errors import STATUS_BY_CODE, client_fault, protocol_headers
from gateway.graphql.media import JSON
from gateway.limits import check_declared_length, read_body, replay
from gateway.responses import JSONResponse
from resolvers.errors import UnsupportedMediaType

logger = logging.getLogger("session_gateway.errors")


async def admit(
    request: Request, receive: Receive, max_body_bytes: int, body_timeout: float
) -> tuple[bytes | None, Receive]:
    """Check, authenticate and charge a request.

    Returns its body (None for a GET) and a ``receive`` that replays it.
    """
    limit = max_body_bytes or sys.maxsize
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON:
            raise UnsupportedMediaType(
                f"POST /graphql takes {JSON}, not {media_type[:64] or 'no type'!r}"
            )
        check_declared_length(request.scope, limit)
    request.scope["state"]["request_scope"] = await request_scope(request)
    if request.method != "POST":
        return None, receive
    body = await read_body(receive, limit, body_timeout)
    return body, replay(body, receive)


# The members of an operation object and the JSON types each may have besides null.
_MEMBER_TYPES = {"query": str, "operationName": str, "variables": dict, "extensions": dict}
_TYPE_NAMES = {str: "a string", dict: "an object"}


def check_body_shape(body: Any, max_batch: int) -> None:
    """Refuse (400) a body that is not one operation object or an allowed batch of them."""
    if isinstance(body, list) and body and all(isinstance(b, dict) for b in body):
        if not max_batch:
            raise HTTPException(400, "batched operations are turned off on this server")
        if len(body) > max_batch:
            raise HTTPException(
                400, f"a batch may hold at most {max_batch} operations, this one has {len(body)}"
            )
    elif not isinstance(body, dict):
        # Strawberry would fail with a 500 on anything but an object or a list of objects.
        raise HTTPException(400, "the body must be a JSON object or a non-empty array of them")
    for operation in body if isinstance(body, list) else [body]:
        check_operation_members(operation)


def check_operation_members(operation: dict[str, Any]) -> None:
    """Refuse (400) an operation whose ``query``, ``operationName``, ... has the wrong type."""
    for member, kind in _MEMBER_TYPES.items():
        value = operation.get(member)
        if value is not None and not isinstance(value, kind):
            raise HTTPException(
                400, f"the operation's {member!r} must be {_TYPE_NAMES[kind]} or null"
            )


def error_body(code: str, message: str, correlation_id: str, max_cost: int) -> dict[str, Any]:
    """A GraphQL response carrying one request error and a zero cost (and no ``data``)."""
    return {
        "errors": [
            {"message": message, "extensions": {"code": code, "correlationId": correlation_id}}
        ],
        "extensions": {"cost": {"requested": 0, "actual": 0, "maximum": max_cost}},
    }


def refusal(fault: Exception, *, correlation_id: str, max_cost: int, media_type: str) -> Response:
    """The GraphQL-shaped response refusing a request before it executes.

    A domain error keeps its code and message; any other fault (a lost database while
    authenticating) is classified like a REST one and logged in full.
    """
    error = client_fault(fault, correlation_id)
    status = STATUS_BY_CODE.get(error.code, 500)
    body = error_body(error.code, error.message, correlation_id, max_cost)
    headers = protocol_headers(error.code)
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)
