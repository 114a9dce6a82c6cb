"""GraphQL errors leave with ``extensions.code`` and the correlation id; unexpected ones masked.

A domain error keeps its message. Any other exception raised in a resolver is logged in
full and reaches the client as a generic message (or ``UNAVAILABLE`` when the database is
gone). Errors without an original exception (syntax, validation) are
``GRAPHQL_VALIDATION``.
"""

import logging

from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError

from gateway.errors import GENERIC_MESSAGE, classify
from resolvers.errors import DomainError

logger = logging.getLogger("session_gateway.errors")


def _is_variable_error(error: GraphQLError) -> bool:
    # A variable value that did not coerce (a scalar's parser raised): reported before
    # execution, at a place in the document, with no field path. It is the client's input.
    return (
        error.path is None
        and bool(error.nodes)
        and not isinstance(error.original_error, DomainError)
    )


def client_error(error: GraphQLError, correlation_id: str) -> GraphQLError:
    """The error as a client may see it."""
    original = error.original_error
    if original is None or _is_variable_error(error):
        code, message = "GRAPHQL_VALIDATION", error.message
    elif isinstance(original, StrawberryInputCoercionError):  # e.g. a malformed global id
        code, message = "VALIDATION", original.message
    elif isinstance(original, DomainError):
        code, message = original.code, original.message
    else:
        domain = classify(original)
        logger.error(
            "GraphQL resolver failed",
            exc_info=original,
            extra={"correlation_id": correlation_id, "error_code": domain.code},
        )
        code = domain.code
        message = GENERIC_MESSAGE if code == "INTERNAL" else domain.message
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, "correlationId": correlation_id},
    )
