"""graphql-transport-ws with the gateway's limits: caps, rate limit, token checks, close reasons.

- A refused ``connection_init`` closes with the gateway's code and reason (Strawberry's
  own refusal says only "Forbidden").
- Each ``subscribe`` message pays 1 from the rate limit on arrival, as an HTTP request
  does; its cost is drawn like an HTTP operation's (``QueryCost``).
- A subscription over its principal's cap gets a ``TOO_MANY_CONNECTIONS`` error, then
  the socket closes with 4429 and the reason.
- An open socket counts against its principal's cap and checks its token again every
  ``WS_TOKEN_CHECK_SECONDS`` (and at its expiry): a revoked or expired token closes it
  with 4403 and the reason. A revocation announced on the bus closes it at once.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from gateway.graphql.errors import client_error
from gateway.graphql.persisted import DocumentTransportWSHandler
from gateway.ratelimit import charge
from gateway.sockets import FORBIDDEN, REJECTION, TOO_MANY, close_reason
from gateway.state import GatewayState
from resolvers.errors import RateLimited, TooManyConnections, Unauthenticated
from resolvers.identity import authenticate
from storage.updates import cancel

logger = logging.getLogger("session_gateway.sockets")


class GatewayWebSocketAdapter(ASGIWebSocketAdapter):
    """Closes once, with the refusal's own code and reason; sends nothing after closing."""

    async def close(self, code: int, reason: str) -> None:
        """Close the socket, unless it is closed already."""
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        rejection = self.ws.scope.get("state", {}).pop(REJECTION, None)
        if rejection is not None and code == FORBIDDEN:
            code, reason = rejection
        await super().close(code, reason)

    async def send_json(self, message: Mapping[str, object]) -> None:
        """Send a message; a closed socket is a disconnected one."""
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        await super().send_json(message)


class GatewayTransportWSHandler(DocumentTransportWSHandler):
    """One graphql-transport-ws connection, held to the limits HTTP requests meet."""

    owner = ""
    subject = ""
    _watch: "asyncio.Task[None] | None" = None
    _counted = False

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Authenticate (``GraphQLView.on_ws_connect``), then count the socket in."""
        await super().handle_connection_init(message)
        if not self.connection_acknowledged or self.context.request_scope is None:
            return
        principal = self.context.request_scope.principal
        self.owner, self.subject = principal.owner, principal.subject
        try:
            self._state.sockets.open(self)
        except TooManyConnections as refused:
            await self.shut(TOO_MANY, close_reason(refused.message))
            return
        self._counted = True
        self._watch = asyncio.create_task(self._check_token())

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Charge the operation's arrival, then run it."""
        if self.connection_acknowledged and message["id"] not in self.operations:
            try:
                await charge(self.context.request, 1)
            except RateLimited as refused:
                error = client_error(
                    GraphQLError(refused.message, original_error=refused),
                    self.context.correlation_id,
                )
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
            self.context.credit += 1
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Any) -> None:
        """Run the operation; then close the socket if it found that it must close."""
        await super().run_operation(operation)
        close_after = self.context.close_after
        if close_after is not None:
            self.context.close_after = None
            await self.shut(*close_after)

    async def shutdown(self) -> None:
        """Stop checking the token and count the socket out, then end its operations."""
        await cancel(self._watch)
        if self._counted:
            self._state.sockets.closed(self)
            self._counted = False
        await super().shutdown()

    async def shut(self, code: int, reason: str) -> None:
        """End every operation of the socket and close it with ``code`` and ``reason``."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=code, reason=reason)

    @property
    def _state(self) -> GatewayState:
        return GatewayState.of(self.context.request)

    async def _check_token(self) -> None:
        state = self._state
        interval = float(state.settings.ws_token_check_seconds) or None
        while True:
            await asyncio.sleep(self._next_check(interval))
            try:
                await authenticate(
                    state.reads_of(self.context.request), self.context.token, state.jwt
                )
            except Unauthenticated as refused:
                self.context.request_scope = None
                await self.shut(FORBIDDEN, close_reason(refused.message))
                return
            except Exception as error:  # the database is away: keep the socket, ask later
                logger.warning("could not check a WebSocket's token: %s", error)

    def _next_check(self, interval: float | None) -> float:
        scope = self.context.request_scope
        expires_at = scope.principal.expires_at if scope is not None else None
        until_expiry = (
            max((expires_at - datetime.now(UTC)).total_seconds(), 0.0) + 0.01
            if expires_at is not None
            else None
        )
        candidates = [s for s in (interval, until_expiry) if s is not None]
        return min(candidates) if candidates else 86_400.0
