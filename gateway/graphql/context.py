"""The typed per-request GraphQL context."""

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from resolvers.context import RequestScope
from resolvers.uris import Uris


@dataclass
class Context:
    """What every GraphQL resolver of one request reads: its scope and URL builder."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    scope: RequestScope
    uris: Uris
    correlation_id: str
    connection_params: dict[str, Any] | None = field(default=None)


Info = strawberry.Info[Context, None]
