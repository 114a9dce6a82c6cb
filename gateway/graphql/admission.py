"""What /graphql checks before Strawberry sees a request, and refusals in GraphQL's shape.

In order, cheapest first: the content type (415), the declared body size (413), the
token (401; the client address pays for the attempt), the caller's rate limit (429),
then the body is read, stopping at the size limit (413). A refusal is a GraphQL
response (``errors[].extensions.code`` and ``correlationId``) with the HTTP status of its
code, so a client learns why before anything executes.
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
from gateway.limits import check_declared_length, read_body, replay
from gateway.responses import JSONResponse
from resolvers.errors import UnsupportedMediaType

logger = logging.getLogger("session_gateway.errors")

JSON_MEDIA_TYPE = "application/json"
# Errors that stop an operation before it runs; any other error leaves the status at 200.
# An unknown persisted query hash stays 200, as in Apollo Server: clients then resend it
# with its document, and some treat a 4xx as "persisted queries unsupported" instead.
REQUEST_ERROR_STATUS = {
    "RATE_LIMITED": 429,
    "QUERY_TOO_COMPLEX": 400,
    "GRAPHQL_VALIDATION": 400,
    "INVALID_PERSISTED_QUERY": 400,
    "DOCUMENT_NOT_TRUSTED": 400,
    "PERSISTED_QUERY_NOT_FOUND": 200,
}


async def admit(request: Request, receive: Receive, max_body_bytes: int) -> Receive:
    """Check, authenticate and charge a request; returns a ``receive`` replaying its body."""
    limit = max_body_bytes or sys.maxsize
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(
                f"POST /graphql takes {JSON_MEDIA_TYPE}, not {media_type[:64] or 'no type'!r}"
            )
        check_declared_length(request.scope, limit)
    request.scope["state"]["request_scope"] = await request_scope(request)
    if request.method != "POST":
        return receive
    return replay(await read_body(receive, limit), receive)


def check_body_shape(body: Any, max_batch: int) -> None:
    """Refuse (400) a body that is not one operation object or an allowed batch of them."""
    if isinstance(body, dict):
        return
    if not isinstance(body, list) or not body or not all(isinstance(b, dict) for b in body):
        # Strawberry would fail with a 500 on anything but an object or a list of objects.
        raise HTTPException(400, "the body must be a JSON object or a non-empty array of them")
    if not max_batch:
        raise HTTPException(400, "batched operations are turned off on this server")
    if len(body) > max_batch:
        raise HTTPException(
            400, f"a batch may hold at most {max_batch} operations, this one has {len(body)}"
        )


def error_body(code: str, message: str, correlation_id: str, max_cost: int) -> dict[str, Any]:
    """A GraphQL response carrying one request error and a zero cost."""
    return {
        "data": None,
        "errors": [
            {"message": message, "extensions": {"code": code, "correlationId": correlation_id}}
        ],
        "extensions": {"cost": {"requested": 0, "actual": 0, "maximum": max_cost}},
    }


def refusal(fault: Exception, correlation_id: str, max_cost: int) -> Response:
    """The GraphQL-shaped response refusing a request before it executes.

    A domain error keeps its code and message; any other fault (a lost database while
    authenticating) is classified like a REST one and logged in full.
    """
    error = client_fault(fault, correlation_id)
    status = STATUS_BY_CODE.get(error.code, 500)
    body = error_body(error.code, error.message, correlation_id, max_cost)
    return JSONResponse(body, status_code=status, headers=protocol_headers(error.code))


def response_status(body: Any) -> int | None:
    """The HTTP status of a response that refused its operation before it ran, else None.

    Such errors carry no ``path``, and ``data`` is null: syntax and validation errors,
    the limits, the cost budget and the rate limit. Errors raised while resolving fields
    keep the GraphQL-over-HTTP status 200, with whatever data could be resolved.
    """
    if not isinstance(body, dict) or body.get("data") is not None or not body.get("errors"):
        return None
    statuses = set()
    for error in body["errors"]:
        code = (error.get("extensions") or {}).get("code")
        if "path" in error or code not in REQUEST_ERROR_STATUS:
            return None
        statuses.add(REQUEST_ERROR_STATUS[code])
    return max(statuses)
