"""The GraphQL endpoint at /graphql: HTTP, WebSocket subscriptions, GraphiQL for browsers."""

import dataclasses
from functools import partial
from typing import Any, NoReturn

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from gateway.auth import bearer_token
from gateway.config import Settings
from gateway.errors import CODE_BY_HTTP_STATUS, client_fault
from gateway.graphql.admission import (
    admit,
    check_body_shape,
    check_operation_members,
    error_body,
    refusal,
)
from gateway.graphql.context import Context
from gateway.graphql.dashboard import DASHBOARD_PATH, dashboard
from gateway.graphql.errors import client_error
from gateway.graphql.explorer import (
    CONTENT_SECURITY_POLICY,
    STATIC_DIR,
    STATIC_PATH,
    explorer_page,
)
from gateway.graphql.limits import GraphQLLimits, hide_suggestions
from gateway.graphql.media import (
    JSON,
    is_request_error,
    request_error_status,
    response_media_type,
)
from gateway.graphql.persisted import DocumentGate, refused
from gateway.graphql.planning import Outcome, PlannedReads
from gateway.graphql.schema import schema
from gateway.graphql.transport import GatewayTransportWSHandler, GatewayWebSocketAdapter
from gateway.middleware import REFUSAL, correlation_id_of
from gateway.ratelimit import charge
from gateway.responses import JSONResponse
from gateway.sockets import FORBIDDEN, REJECTION, SERVICE_RESTART, TOO_MANY, close_reason
from gateway.state import GatewayState
from planner.formats import JSON_TIMESTAMPS
from resolvers.errors import DomainError, RateLimited, Unauthenticated, Unavailable
from resolvers.identity import authenticate
from resolvers.uris import Uris

# What each method may run. Subscriptions are served over WebSockets only: Strawberry
# would also take them over HTTP for its multipart protocol, which is not offered here.
HTTP_OPERATION_TYPES = {
    "GET": {OperationType.QUERY},
    "POST": {OperationType.QUERY, OperationType.MUTATION},
}
# Where ``answer_read`` leaves the outcome of a read the planned lane declined.
_DECLINED = "planned_lane_declined"


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with the gateway's per-request context and error policy."""

    graphql_transport_ws_handler_class = GatewayTransportWSHandler
    websocket_adapter_class = GatewayWebSocketAdapter

    def __init__(
        self,
        limits: GraphQLLimits,
        documents: DocumentGate,
        planned: PlannedReads,
        demo_token: str = "",
        **options: Any,
    ) -> None:
        super().__init__(schema, **options)
        self.limits = limits
        self.documents = documents
        self.planned = planned
        self.demo_token = demo_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request; a malformed one gets a GraphQL-shaped 4xx, not plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            code = CODE_BY_HTTP_STATUS.get(error.status_code, "VALIDATION")
            body = error_body(code, error.reason, correlation_id_of(scope), self.limits.max_cost)
            media_type = _media_type(request)
            response = JSONResponse(body, status_code=error.status_code, media_type=media_type)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """Render with orjson (text, as WebSocket messages must be).

        A planned lane's data holds its timestamps as they are (``JSON_TIMESTAMPS``).
        """
        return orjson.dumps(data, option=JSON_TIMESTAMPS).decode()

    def decode_json(self, data: str | bytes) -> object:
        """Parse JSON strictly (orjson: invalid UTF-8 and deep nesting are errors, not 500s)."""
        value = orjson.loads(data)
        if isinstance(data, bytes):  # a request body, not a query-string parameter
            check_body_shape(value, self.limits.max_batch)
        return value

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the gateway's own assets (see ``gateway.graphql.explorer``)."""
        page = explorer_page(request.scope.get("root_path", ""), self.demo_token)
        headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",  # it may hold the demo token
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(page, headers=headers)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Not for a persisted query sent by GET, which has no ``query`` parameter."""
        return super().should_render_graphql_ide(request) and (
            "extensions" not in request.query_params
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Run one operation, its document first resolved by hash or checked for trust."""
        try:
            admitted = await self.documents.admit(
                request, request_data.query, request_data.extensions
            )
        except Exception as error:
            return refused(error, self.limits.max_cost)
        declined: Outcome | None = request.scope["state"].pop(_DECLINED, None)
        if declined is None:  # not tried by ``answer_read``: a batch, a GET, a refusal
            planned = await self.planned.execute(
                context, admitted.query, request_data.operation_name, request_data.variables
            )
            if planned.result is not None:
                await self.documents.keep(request, admitted, planned.result)
                return planned.result
            declined = planned
        # The operations of a batch share one context: only this one has paid already.
        own = dataclasses.replace(context, charged=True) if declined.charged else context
        try:
            result = await self.schema.execute(
                admitted.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=own,
                operation_name=request_data.operation_name,
                allowed_operation_types=HTTP_OPERATION_TYPES[request.method],
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            reason = error.as_http_error_reason(request.method)
            if error.operation_type is OperationType.SUBSCRIPTION:
                reason += ": subscribe over a WebSocket (graphql-transport-ws) at /graphql"
            raise HTTPException(400, reason) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error
        await self.documents.keep(request, admitted, result)
        return result

    async def answer_read(self, request: Request, body: bytes) -> Response | None:
        """Answer one POSTed read on the planned lane, without Strawberry's HTTP machinery.

        Only the plain case is taken: a JSON object whose members have their types and
        whose document the gate admits. Anything else, and any read the planner declines,
        returns None and goes through the view, which then does not try the planned lane
        again (the lane was counted, and what the read paid is remembered).
        """
        if b"multipart" in request.headers.get("accept", "").encode():
            return None  # Strawberry's incremental transports
        try:
            operation = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(operation, dict):
            return None
        try:
            check_operation_members(operation)
            admitted = await self.documents.admit(
                request, operation.get("query"), operation.get("extensions")
            )
        except Exception:  # the view refuses it in its own words
            return None
        context = await self.get_context(request, None)
        planned = await self.planned.execute(
            context, admitted.query, operation.get("operationName"), operation.get("variables")
        )
        if planned.result is None:
            request.scope["state"][_DECLINED] = planned
            return None
        await self.documents.keep(request, admitted, planned.result)
        media_type = _media_type(request)
        answer = process_result(planned.result)
        return Response(orjson.dumps(answer, option=JSON_TIMESTAMPS), media_type=media_type)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Where the response's headers gather, knowing the media type the client accepts."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = _media_type(request)
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """The response in the negotiated media type, with the status it prescribes.

        An operation refused before it ran has no ``data`` entry, as the GraphQL
        specification asks of request errors (see ``gateway.graphql.media``).
        """
        media_type = sub_response.media_type or JSON
        if isinstance(response_data, dict) and is_request_error(response_data):
            response_data.pop("data", None)
            sub_response.status_code = request_error_status(response_data, media_type)
        response = super().create_response(response_data, sub_response)
        response.media_type = media_type
        response.headers["content-type"] = media_type
        return response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Render the result, giving every error a code and the correlation id."""
        if result.errors:
            correlation_id = correlation_id_of(request.scope)
            result.errors = [client_error(error, correlation_id) for error in result.errors]
            if not self.limits.introspection:
                hide_suggestions(result.errors)
        return process_result(result)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        """A fresh context per request (per connection for WebSockets)."""
        state = GatewayState.of(request)
        return Context(
            request=request,
            response=response,
            uris=Uris(state.settings.public_base_url),
            correlation_id=correlation_id_of(request.scope),
            request_scope=request.scope["state"].get("request_scope"),
            credit=0 if isinstance(request, WebSocket) else 1,  # admission charged 1
            planned=self.planned,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its ``connection_init`` token, and charge for it.

        Like an HTTP request, the connection costs its principal 1 from the rate limit;
        without a valid token the client address pays. A refusal closes the socket with
        4403 (the token) or 4429 (the rate limit) and the reason in the close frame.
        """
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        state = GatewayState.of(context.request)
        try:
            principal = await authenticate(state.reads_of(context.request), token, state.jwt)
        except Exception as error:
            refused = client_fault(error, context.correlation_id)
            if isinstance(refused, Unauthenticated):
                await _charge_or_reject(context, 1)  # the client address pays
            _reject(
                context, SERVICE_RESTART if isinstance(refused, Unavailable) else FORBIDDEN, refused
            )
        context.request.scope.setdefault("state", {})["principal"] = principal  # rate limit key
        await _charge_or_reject(context, 1)
        context.token = token
        context.request_scope = state.open_scope(principal)
        unset: UnsetType = UNSET
        return unset


def _media_type(request: Request | WebSocket) -> str:
    return response_media_type(request.headers.get("accept", ""))


async def _charge_or_reject(context: Context, cost: float) -> None:
    try:
        await charge(context.request, cost)
    except RateLimited as limited:
        _reject(context, TOO_MANY, limited)


def _reject(context: Context, code: int, error: DomainError) -> NoReturn:
    context.request.scope.setdefault("state", {})[REJECTION] = (code, close_reason(error.message))
    raise ConnectionRejectionError({"message": error.message, "code": error.code}) from error


def _wants_graphiql(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


class AuthenticatedGraphQL:
    """Admits every operation before Strawberry runs it; GraphiQL itself is open.

    A request that is malformed, too large, unauthenticated or over its rate limit is
    answered here with a GraphQL-shaped error body and its 4xx status (see
    ``gateway.graphql.admission``), so a client learns why before anything executes.
    """

    def __init__(self, view: GraphQLView, graphiql: bool) -> None:
        self.view = view
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.view(scope, receive, send)
            return
        request = Request(scope, receive)
        limits = self.view.limits
        refuse = scope["state"][REFUSAL] = partial(
            refusal,
            correlation_id=correlation_id_of(scope),
            max_cost=limits.max_cost,
            media_type=_media_type(request),
        )
        if self.graphiql and _wants_graphiql(request):
            response = await self.view.render_graphql_ide(request)
        else:
            try:
                body, receive = await admit(
                    request, receive, limits.max_body_bytes, limits.body_timeout
                )
            except Exception as error:
                response = refuse(error)
            else:
                answer = None if body is None else await self.view.answer_read(request, body)
                if answer is None:
                    await self.view(scope, receive, send)
                    return
                response = answer
        await response(scope, receive, send)


def graphql_routes(settings: Settings) -> list[BaseRoute]:
    """The /graphql routes: HTTP, and WebSocket for subscriptions (graphql-transport-ws)."""
    limits = GraphQLLimits.from_settings(settings)
    view = GraphQLView(
        limits,
        DocumentGate.from_settings(settings),
        PlannedReads(schema, limits, enabled=settings.graphql_planner),
        demo_token=settings.graphiql_demo_token,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        keep_alive=True,
    )
    app = AuthenticatedGraphQL(view, settings.graphiql)
    routes: list[BaseRoute] = [
        Route("/graphql", app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", app),
    ]
    if settings.graphiql:
        # GraphiQL's and the dashboard's scripts and styles, vendored: the pages need no
        # other server.
        routes.append(Mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="graphql-static"))
        routes.append(Route(DASHBOARD_PATH, dashboard, methods=["GET"]))
    return routes
