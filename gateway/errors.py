"""How errors leave the gateway: one table from error code to HTTP status, two renderings.

The error tree itself lives in ``resolvers.errors`` (resolvers may not import the
gateway). Here each code gets its HTTP status, REST errors get the documented envelope
``{error_message, status_code, correlation_id, error_code}``, and faults that are not
domain errors are classified: a lost database becomes ``UNAVAILABLE`` (503), anything
else ``INTERNAL`` (500) with a generic message; the details only go to the log.
"""

import asyncio
import logging
from collections.abc import Mapping

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import Response

from gateway.responses import JSONResponse
from resolvers.errors import DomainError, Unavailable
from storage.database import DatabaseUnavailable

logger = logging.getLogger("session_gateway.errors")

STATUS_BY_CODE: Mapping[str, int] = {
    "VALIDATION": 400,
    "INVALID_PAGINATION_TOKEN": 400,
    "QUERY_TOO_COMPLEX": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "REQUEST_TIMEOUT": 408,
    "INVALID_TRANSITION": 409,
    "CONFLICT": 409,
    "LIMIT_REACHED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "TOO_MANY_CONNECTIONS": 429,
    "HEADERS_TOO_LARGE": 431,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}
RETRY_AFTER_SECONDS = 5
GENERIC_MESSAGE = "Unexpected error; quote the correlation id when reporting it"


class InternalError(DomainError):
    """A fault that is not the client's: its message is generic, its cause only logged."""

    code = "INTERNAL"


def classify(error: BaseException) -> DomainError:
    """The domain error a client sees for ``error``."""
    if isinstance(error, DomainError):
        return error
    if isinstance(
        error,
        (
            DatabaseUnavailable,
            OperationalError,
            InterfaceError,
            PoolTimeout,
            OSError,
            asyncio.TimeoutError,
        ),
    ) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return Unavailable("the session store is unavailable; retry shortly")
    return InternalError(GENERIC_MESSAGE)


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error."""
    return STATUS_BY_CODE.get(error.code, 500)


# The codes of the HTTP errors Starlette and Strawberry raise themselves.
CODE_BY_HTTP_STATUS: Mapping[int, str] = {
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def protocol_headers(code: str, headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus what HTTP asks of this error: a challenge, or when to retry."""
    extra = dict(headers or {})
    if code == "UNAUTHORIZED":
        extra.setdefault("WWW-Authenticate", "Bearer")
    if code == "UNAVAILABLE":
        extra.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return extra


def client_fault(error: BaseException, correlation_id: str) -> DomainError:
    """The domain error a client sees; faults that are not the client's are logged in full."""
    domain = classify(error)
    if domain is not error:
        logger.error(
            "request failed",
            exc_info=error,
            extra={"correlation_id": correlation_id, "error_code": domain.code},
        )
    return domain


def envelope_response(
    code: str, message: str, correlation_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The documented REST error body with its status and any protocol headers."""
    status = STATUS_BY_CODE.get(code, 500)
    extra = protocol_headers(code, headers)
    body = {
        "error_message": message,
        "status_code": status,
        "correlation_id": correlation_id,
        "error_code": f"ERRORS.{code}",
    }
    return JSONResponse(body, status_code=status, headers=extra)


def error_response(error: BaseException, correlation_id: str) -> Response:
    """The REST envelope for any exception, logging the ones that are not the client's."""
    domain = client_fault(error, correlation_id)
    return envelope_response(domain.code, domain.message, correlation_id)
