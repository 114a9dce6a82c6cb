"""Operations over a WebSocket get a fresh scope each, like HTTP requests do.

A WebSocket's context lives as long as the connection; without this, every query and
mutation sent over it would share one set of loaders, whose caches would go stale and
grow for as long as the socket stays open.
"""

from collections.abc import Iterator

from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from gateway.graphql.context import Context
from gateway.state import GatewayState


class FreshScopePerOperation(SchemaExtension):
    """Open a new request scope (fresh loaders) for each operation on a WebSocket."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and isinstance(context.request, WebSocket):
            current = context.request_scope
            if current is not None:
                principal = current.principal
                fresh = None if principal.has_expired() else principal
                state = GatewayState.of(context.request)
                context.request_scope = state.open_scope(fresh) if fresh else None
        yield
