"""The outermost layer of every request: correlation id, access log, metrics, last-resort errors."""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import client_fault, error_response
from gateway.logs import ACCESS_LOGGER, current_correlation_id
from gateway.metrics import Metrics
from gateway.state import READS
from resolvers.errors import Unauthenticated
from resolvers.identity import UNKNOWN_TOKEN

access_log = logging.getLogger(ACCESS_LOGGER)
CORRELATION_HEADER = b"x-correlation-id"
# Where a face keeps how it words a refusal (``Exception -> Response``) when its own
# shape is not the REST envelope: /graphql answers in GraphQL's.
REFUSAL = "refusal"
WS_INTERNAL_ERROR = 1011  # RFC 6455: the server met an unexpected condition


def correlation_id_of(scope: Scope) -> str:
    """The request's correlation id, as set by ``RequestMiddleware``."""
    state: dict[str, Any] = scope.setdefault("state", {})
    return str(state.get("correlation_id") or uuid.uuid4())


def _incoming_correlation_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == CORRELATION_HEADER:
            try:
                return str(uuid.UUID(value.decode("latin-1")))
            except ValueError:
                break
    return str(uuid.uuid4())


class RequestMiddleware:
    """Gives each request a correlation id, logs it as one JSON line, and counts it.

    It also ends the request's hold on its database connection (``GatewayState.reads_of``)
    as the response starts: the body is written without one. Before that, the request's
    credential must be known to stand (``Reads.requirement_met``, see
    ``resolvers.identity``): if its token's row is gone, the response the app made is
    dropped and a 401 goes out in its place.

    An exception that escapes the app is answered here in the documented envelope,
    so a client never sees a stack trace; its details go to the log. A WebSocket that
    meets one is closed with 1011 (internal error).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        correlation_id = _incoming_correlation_id(scope)
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        context_token = current_correlation_id.set(correlation_id)
        started = time.perf_counter()
        status = 0
        dropped = False  # the app's response, replaced by a refusal

        async def send_with_header(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return
            if message["type"] == "http.response.start" and (reads := state.get(READS)):
                refusal = await _refusal(reads, state, correlation_id)
                await reads.release()
                if refusal is not None:
                    dropped = True
                    await refusal(scope, receive, deliver)
                    return
            await deliver(message)

        async def deliver(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != CORRELATION_HEADER]
                headers.append((CORRELATION_HEADER, correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        except Exception as error:
            if status:
                raise
            if scope["type"] == "websocket":
                # An HTTP response cannot go down a socket: log the fault once, close it.
                client_fault(error, correlation_id)
                with contextlib.suppress(Exception):  # the peer may be gone already
                    await send({"type": "websocket.close", "code": WS_INTERNAL_ERROR})
                return
            response = error_response(error, correlation_id)
            await response(scope, receive, send_with_header)
        finally:
            if (reads := state.get(READS)) is not None:
                await reads.release()
            if scope["type"] == "http":
                self._record(scope, status or 500, time.perf_counter() - started, correlation_id)
            current_correlation_id.reset(context_token)

    def _record(self, scope: Scope, status: int, seconds: float, correlation_id: str) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.observe(scope["method"], route, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        principal = scope.get("state", {}).get("principal")
        access_log.info(
            orjson.dumps(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "principal": getattr(principal, "subject", None),
                    "correlation_id": correlation_id,
                }
            ).decode()
        )


async def _refusal(reads: Any, state: dict[str, Any], correlation_id: str) -> Response | None:
    """The response to send instead of the app's, if the request's credential fell."""
    try:
        if await reads.requirement_met():
            return None
        error: Exception = Unauthenticated(UNKNOWN_TOKEN)
    except Exception as fault:  # the database went away meanwhile: 503, logged
        error = fault
    refuse: Callable[[Exception], Response] | None = state.get(REFUSAL)
    return refuse(error) if refuse is not None else error_response(error, correlation_id)
