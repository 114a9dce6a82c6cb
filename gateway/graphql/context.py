"""The typed per-request GraphQL context."""

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from resolvers.context import RequestScope
from resolvers.errors import Unauthenticated
from resolvers.uris import Uris


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

    @property
    def scope(self) -> RequestScope:
        """The authenticated request scope."""
        if self.request_scope is None:
            raise Unauthenticated(
                "no valid bearer token: send one in connection_init (it may have expired)"
            )
        return self.request_scope


Info = strawberry.Info[Context, None]
