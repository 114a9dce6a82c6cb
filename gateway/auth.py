"""The HTTP side of authentication: the bearer token of a request becomes its Principal."""

from starlette.requests import HTTPConnection

from gateway.state import GatewayState
from resolvers.context import RequestScope
from resolvers.identity import authenticate
from resolvers.scope import Principal


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if it is one."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


async def authenticate_connection(connection: HTTPConnection) -> Principal:
    """The caller of an HTTP request; raises ``Unauthenticated`` without a valid token."""
    state = GatewayState.of(connection)
    principal = await authenticate(
        state.engine, bearer_token(connection.headers.get("authorization"))
    )
    connection.scope.setdefault("state", {})["principal"] = principal
    return principal


async def request_scope(connection: HTTPConnection) -> RequestScope:
    """Authenticate the request and open its resolver scope with fresh loaders."""
    state = GatewayState.of(connection)
    principal = await authenticate_connection(connection)
    return RequestScope.open(principal, state.engine, state.cursors, state.updates)
