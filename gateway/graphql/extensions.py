"""Error handling for GraphQL: codes for expected errors, masking for the unexpected."""

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import GENERIC_MESSAGE, classify
from resolvers.errors import DomainError

logger = logging.getLogger("session_gateway.errors")


class DomainErrors(SchemaExtension):
    """Give every error ``extensions.code`` and the correlation id; mask unexpected ones.

    A domain error keeps its message; any other exception raised in a resolver is logged
    in full and reaches the client as a generic message (or ``UNAVAILABLE`` when the
    database is gone). Syntax and validation errors pass through as ``GRAPHQL_VALIDATION``.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if not errors:
            return
        context = self.execution_context.context
        correlation_id = getattr(context, "correlation_id", None)
        result.errors = [self._process(error, correlation_id) for error in errors]  # type: ignore[union-attr]

    @staticmethod
    def _process(error: GraphQLError, correlation_id: str | None) -> GraphQLError:
        original = error.original_error
        if original is None:
            code, message = "GRAPHQL_VALIDATION", error.message
        elif isinstance(original, DomainError):
            code, message = original.code, original.message
        else:
            domain = classify(original)
            logger.error(
                "GraphQL resolver failed",
                exc_info=original,
                extra={"correlation_id": correlation_id, "error_code": domain.code},
            )
            code, message = domain.code, domain.message if domain.code != "INTERNAL" else GENERIC_MESSAGE
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={**(error.extensions or {}), "code": code, "correlationId": correlation_id},
        )
