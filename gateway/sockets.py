"""The WebSockets open in this process, by owner: their caps, and closing revoked ones.

An owner is whom the rate limit charges (``Principal.owner``): a rider's
tokens share one count, any other token has its own. At most
``WS_MAX_SOCKETS_PER_PRINCIPAL`` sockets and ``WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL``
subscriptions per owner are open at once in one process (0: no cap).
"""

import asyncio
import logging
from collections import Counter, defaultdict
from typing import Protocol

from resolvers.errors import TooManyConnections

logger = logging.getLogger("session_gateway.sockets")

# Close codes of the gateway's WebSockets (graphql-transport-ws leaves 4000-4999 to servers).
FORBIDDEN = 4403  # the token is not valid, has expired or was revoked
TOO_MANY = 4429  # the rate limit, or the socket cap
SERVICE_RESTART = 1013  # "try again later": the database could not be reached
MAX_REASON_BYTES = 123  # what a close frame can carry
REJECTION = "ws_rejection"  # where a refused connection_init leaves its close code and reason


class OpenSocket(Protocol):
    """A socket the registry can close."""

    owner: str
    subject: str

    async def shut(self, code: int, reason: str) -> None:
        """Stop its operations and close it with ``code`` and ``reason``."""


def close_reason(message: str) -> str:
    """``message`` cut to what a close frame can carry."""
    encoded = message.encode()[:MAX_REASON_BYTES]
    return encoded.decode(errors="ignore")


class SocketRegistry:
    """Counts sockets and subscriptions per owner; closes a revoked token's sockets."""

    def __init__(self, max_sockets: int, max_subscriptions: int) -> None:
        self.max_sockets = max_sockets
        self.max_subscriptions = max_subscriptions
        self._sockets: defaultdict[str, set[OpenSocket]] = defaultdict(set)
        self._subscriptions: Counter[str] = Counter()
        self._closing: set[asyncio.Task[None]] = set()

    def open(self, socket: OpenSocket) -> None:
        """Count a socket in, or refuse it over the cap."""
        held = self._sockets[socket.owner]
        if self.max_sockets and len(held) >= self.max_sockets:
            raise TooManyConnections(
                f"too many WebSockets: at most {self.max_sockets} per principal are open at once"
            )
        held.add(socket)

    def closed(self, socket: OpenSocket) -> None:
        """Count a socket out."""
        held = self._sockets.get(socket.owner)
        if held is not None:
            held.discard(socket)
            if not held:
                del self._sockets[socket.owner]

    def subscribe(self, owner: str) -> None:
        """Count a subscription in, or refuse it over the cap."""
        if self.max_subscriptions and self._subscriptions[owner] >= self.max_subscriptions:
            raise TooManyConnections(
                f"too many subscriptions: at most {self.max_subscriptions} per principal "
                "are open at once"
            )
        self._subscriptions[owner] += 1

    def unsubscribe(self, owner: str) -> None:
        """Count a subscription out."""
        self._subscriptions[owner] -= 1
        if self._subscriptions[owner] <= 0:
            del self._subscriptions[owner]

    def revoke(self, subject: str) -> None:
        """Close, now, every socket authenticated by the token ``subject``."""
        for held in list(self._sockets.values()):
            for socket in list(held):
                if socket.subject == subject:
                    task = asyncio.create_task(
                        socket.shut(FORBIDDEN, "the bearer token was revoked")
                    )
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
