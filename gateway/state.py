"""What the app's lifespan owns and every request reads: engine, keys, metrics, buckets, sockets."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from gateway.buckets import Buckets
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.sockets import SocketRegistry
from resolvers.clock import Clock, utc_now
from resolvers.context import RequestScope
from resolvers.cursors import CursorCodec
from resolvers.identity import KnownTokens
from resolvers.jwt_identity import JwtVerifier
from resolvers.live import LiveFeed
from resolvers.scope import Principal
from storage.database import Reads
from storage.replicas import ReadRouter


@dataclass(frozen=True, slots=True)
class GatewayState:
    """The process-wide state of a running gateway."""

    settings: Settings
    engine: AsyncEngine
    cursors: CursorCodec
    metrics: Metrics
    live: LiveFeed
    sockets: SocketRegistry
    jwt: JwtVerifier | None = None
    buckets: Buckets | None = None
    clock: Clock = utc_now
    known_tokens: KnownTokens = field(default_factory=KnownTokens)
    router: ReadRouter | None = None  # with DATABASE_REPLICA_URLS

    @staticmethod
    def of(connection: HTTPConnection) -> "GatewayState":
        """The state of the app serving ``connection``."""
        state: GatewayState = connection.app.state.gateway
        return state

    def reads_of(self, connection: HTTPConnection) -> Reads:
        """The reader of an HTTP request: one connection for all its reads.

        Made at the first read and kept in the request's state; ``RequestMiddleware``
        returns its connection when the response starts. A WebSocket lives too long to
        hold a connection: each of its reads takes one.

        With read replicas an HTTP request's reads start on a replica in rotation;
        ``route`` and writes may move them to the primary. A WebSocket's stay there.
        """
        state: dict[str, Any] = connection.scope.setdefault("state", {})
        reads: Reads | None = state.get(READS)
        if reads is None:
            http = connection.scope["type"] == "http"
            router = self.router
            engine = router.replica() if router is not None and http else self.engine
            reads = state[READS] = Reads(engine, held=http, router=router)
        return reads

    async def route(self, principal: Principal, reads: Reads) -> None:
        """Keep ``reads`` on a replica only if it has replayed ``principal``'s last write."""
        if self.router is not None and reads.on_replica:
            await reads.use(await self.router.engine_for(principal.owner, reads.engine))

    def open_scope(self, principal: Principal, reads: Reads | None = None) -> RequestScope:
        """A fresh resolver scope for ``principal``, its loaders reporting batch sizes."""
        return RequestScope.open(
            principal,
            self.engine,
            self.cursors,
            self.live.bus,
            self.metrics.observe_batch,
            reads,
            self.clock,
            self.settings.write_limits(),
            self.router,
        )


# The key of a request's reader in its ASGI scope's state.
READS = "reads"
