"""What operations over a WebSocket share with HTTP requests: fresh scopes and masked errors.

A WebSocket's context lives as long as the connection; without ``FreshScopePerOperation``
every query and mutation sent over it would share one set of loaders, whose caches would
go stale and grow for as long as the socket stays open. ``SocketErrors`` gives each error
a socket sends what HTTP answers carry: a code in ``extensions``, the correlation id,
and a generic message for faults that are not the client's.
"""

from collections.abc import Iterator

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, StreamExecutionResult

from gateway.graphql.context import Context
from gateway.graphql.errors import client_error
from gateway.state import GatewayState


def _on_socket(context: object) -> bool:
    return isinstance(context, Context) and isinstance(context.request, WebSocket)


class FreshScopePerOperation(SchemaExtension):
    """Open a new request scope (fresh loaders) for each operation on a WebSocket."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if _on_socket(context):
            current = context.request_scope
            if current is not None:
                principal = current.principal
                fresh = None if principal.has_expired() else principal
                state = GatewayState.of(context.request)
                context.request_scope = state.open_scope(fresh) if fresh else None
        yield


class SocketErrors(SchemaExtension):
    """Errors sent over a WebSocket carry a code and the correlation id, faults masked."""

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(result, ExecutionResult) and result.errors and _on_socket(context):
            correlation_id = context.correlation_id
            result.errors = [_masked(error, correlation_id) for error in result.errors]
        yield


def _masked(error: GraphQLError, correlation_id: str) -> GraphQLError:
    if "correlationId" in (error.extensions or {}):
        return error  # rendered already (a refused document)
    return client_error(error, correlation_id)
