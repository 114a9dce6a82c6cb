"""The GraphQL endpoint at /graphql: HTTP, WebSocket subscriptions, GraphiQL for browsers."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.auth import bearer_token, request_scope
from gateway.config import Settings
from gateway.graphql.context import Context
from gateway.graphql.errors import client_error
from gateway.graphql.schema import schema
from gateway.middleware import correlation_id_of
from gateway.responses import JSONResponse
from gateway.state import GatewayState
from resolvers.context import RequestScope
from resolvers.errors import DomainError
from resolvers.identity import authenticate
from resolvers.uris import Uris


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with the gateway's per-request context and error policy."""

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Render the result, giving every error a code and the correlation id."""
        if result.errors:
            correlation_id = correlation_id_of(request.scope)
            result.errors = [client_error(error, correlation_id) for error in result.errors]
        return process_result(result)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        """A fresh context per request (per connection for WebSockets)."""
        state = GatewayState.of(request)
        return Context(
            request=request,
            response=response,
            uris=Uris(state.settings.public_base_url),
            correlation_id=correlation_id_of(request.scope),
            request_scope=request.scope["state"].get("request_scope"),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from the token its ``connection_init`` carries."""
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        state = GatewayState.of(context.request)
        try:
            principal = await authenticate(state.engine, token)
        except DomainError as error:
            raise ConnectionRejectionError(
                {"message": error.message, "code": error.code}
            ) from error
        context.request_scope = RequestScope.open(
            principal, state.engine, state.cursors, state.updates
        )
        unset: UnsetType = UNSET
        return unset


def _wants_graphiql(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


class AuthenticatedGraphQL:
    """Authenticates every operation before Strawberry runs it; GraphiQL itself is open.

    Without a valid token, /graphql answers 401 with a GraphQL-shaped error body, so a
    client learns why before anything executes.
    """

    def __init__(self, view: GraphQLView, graphiql: bool) -> None:
        self.view = view
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.view(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.graphiql and _wants_graphiql(request):
            response = await self.view.render_graphql_ide(request)
        else:
            try:
                scope["state"]["request_scope"] = await request_scope(request)
            except DomainError as error:
                response = _unauthorized(error, correlation_id_of(scope))
            else:
                await self.view(scope, receive, send)
                return
        await response(scope, receive, send)


def _unauthorized(error: DomainError, correlation_id: str) -> Response:
    body: dict[str, Any] = {
        "data": None,
        "errors": [
            {
                "message": error.message,
                "extensions": {"code": error.code, "correlationId": correlation_id},
            }
        ],
    }
    status = 401 if error.code == "UNAUTHORIZED" else 503
    return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": "Bearer"})


def graphql_routes(settings: Settings) -> list[BaseRoute]:
    """The /graphql routes: HTTP, and WebSocket for subscriptions (graphql-transport-ws)."""
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        keep_alive=True,
    )
    app = AuthenticatedGraphQL(view, settings.graphiql)
    return [Route("/graphql", app, methods=["GET", "POST"]), WebSocketRoute("/graphql", app)]
