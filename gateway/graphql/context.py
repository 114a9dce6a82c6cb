"""The typed per-request GraphQL context."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from resolvers.context import RequestScope
from resolvers.errors import Unauthenticated
from resolvers.uris import Uris

if TYPE_CHECKING:
    from gateway.graphql.planning import PlannedReads


@dataclass
class Context:
    """What every GraphQL resolver of one request reads: its scope and URL builder.

    Over HTTP the scope is opened before execution. Over a WebSocket the context lives as
    long as the connection, and the scope is opened when ``connection_init`` brings the
    token; subscriptions then open a fresh scope for every event they emit.
    """

    request: Request | WebSocket
    response: Response | WebSocket | None
    uris: Uris
    correlation_id: str
    request_scope: RequestScope | None = None
    connection_params: dict[str, Any] | None = field(default=None)
    # The operation's cost was charged already (by the planned lane, before it declined).
    charged: bool = False
    # What operations paid on arrival and their cost has not yet used: an HTTP request
    # pays 1 before it is read; every operation on a WebSocket pays 1 when it arrives.
    credit: int = 0
    # A WebSocket's bearer token, checked again while the socket stays open.
    token: str | None = None
    # The planned lane, which subscriptions build their events on.
    planned: "PlannedReads | None" = None
    # Why the socket must close once the operation that found out has answered: a close
    # code and reason (a subscription over the principal's cap).
    close_after: tuple[int, str] | None = None

    def owed(self, requested: int) -> int:
        """What an operation of cost ``requested`` still owes (every operation costs 1+)."""
        return max(requested, 1) - min(self.credit, 1)

    def settle(self) -> None:
        """Use up what the operation paid on arrival, once its cost is drawn."""
        self.credit -= min(self.credit, 1)

    @property
    def scope(self) -> RequestScope:
        """The authenticated request scope."""
        if self.request_scope is None:
            raise Unauthenticated(
                "no valid bearer token: send one in connection_init (it may have expired)"
            )
        return self.request_scope


Info = strawberry.Info[Context, None]
