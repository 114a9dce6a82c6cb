"""Limits on what a client sends: request headers (every path), bodies (size and time).

uvicorn's default parser accepts header blocks of hundreds of kilobytes, so the gateway
bounds them itself. Bodies are only read through ``read_body``, which stops at the limit
whether or not the client declared a ``Content-Length``.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import envelope_response
from gateway.middleware import correlation_id_of
from resolvers.errors import InvalidInput, PayloadTooLarge, RequestTimeout


class HeaderLimit:
    """Refuses requests whose headers add up to more than ``max_bytes`` with 431."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.max_bytes > 0:
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1009})
                    return
                response = envelope_response(
                    "HEADERS_TOO_LARGE",
                    f"the request headers are {size} bytes; at most {self.max_bytes} are accepted",
                    correlation_id_of(scope),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None when it has none."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise InvalidInput("the Content-Length header is not a byte count")
            return int(value)
    return None


def check_declared_length(scope: Scope, max_bytes: int) -> None:
    """Refuse a body announced as larger than ``max_bytes`` before reading any of it."""
    declared = declared_length(scope)
    if declared is not None and declared > max_bytes:
        raise PayloadTooLarge(
            f"the request body is {declared} bytes; at most {max_bytes} are accepted"
        )


async def read_body(receive: Receive, max_bytes: int, max_seconds: float = 0.0) -> bytes:
    """The whole request body, refused past ``max_bytes`` or after ``max_seconds``.

    ``max_seconds`` bounds the whole body, not each chunk, so a client trickling bytes cannot
    hold the request open either; 0 waits as long as the client likes.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(max_seconds or None):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"the request body is over {max_bytes} bytes; "
                        f"at most {max_bytes} are accepted"
                    )
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError as error:
        raise RequestTimeout(
            f"the request body took over {max_seconds:g} s to arrive ({size} bytes came)"
        ) from error
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the client."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
