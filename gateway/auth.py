"""The HTTP side of authentication: the bearer token of a request becomes its Principal."""

from starlette.requests import HTTPConnection

from gateway.ratelimit import charge
from gateway.state import GatewayState
from resolvers.context import RequestScope
from resolvers.errors import Unauthenticated
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
    """The caller of an HTTP request; raises ``Unauthenticated`` without a valid token.

    A token this process has read before is taken on trust until the request's reader
    learns that its row still exists (``resolvers.identity``); ``RequestMiddleware``
    answers 401 in the request's place if it does not.
    """
    state = GatewayState.of(connection)
    principal = await authenticate(
        state.reads_of(connection),
        bearer_token(connection.headers.get("authorization")),
        state.jwt,
        state.known_tokens,
    )
    connection.scope.setdefault("state", {})["principal"] = principal
    return principal


async def request_scope(connection: HTTPConnection, cost: float = 1) -> RequestScope:
    """Authenticate the request, draw ``cost`` from its rate limit, open its resolver scope."""
    state = GatewayState.of(connection)
    try:
        principal = await authenticate_connection(connection)
    except Unauthenticated:
        await charge(connection, 1)  # without a valid token, the client address pays
        raise
    await charge(connection, cost)
    reads = state.reads_of(connection)
    await state.route(principal, reads)
    return state.open_scope(principal, reads)
