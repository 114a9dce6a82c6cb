"""Everything one request's resolvers need: who asks, the database, loaders and cursors."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from loaders.base import Reads, Visibility
from loaders.registry import BatchObserver, Loaders
from resolvers.clock import Clock, utc_now
from resolvers.cursors import CursorCodec
from resolvers.errors import Unauthenticated
from resolvers.identity import UNKNOWN_TOKEN
from resolvers.scope import Principal
from storage.database import write_transaction
from storage.replicas import ReadRouter
from storage.updates import UpdateBus


@dataclass(frozen=True, slots=True)
class WriteLimits:
    """Quotas on what writes may accumulate; 0 turns one off."""

    max_session_events: int = 1000  # a session's events, its end included
    max_open_sessions: int = 5  # a rider's booked and active sessions


@dataclass(slots=True)
class RequestScope:
    """One request's view of the service; both API faces build one per request."""

    principal: Principal
    engine: AsyncEngine
    reads: Reads
    cursors: CursorCodec
    loaders: Loaders
    updates: UpdateBus = field(default_factory=UpdateBus)
    clock: Clock = utc_now
    limits: WriteLimits = field(default_factory=WriteLimits)
    router: ReadRouter | None = None  # with read replicas: remembers what the principal wrote

    @classmethod
    def open(
        cls,
        principal: Principal,
        engine: AsyncEngine,
        cursors: CursorCodec,
        updates: UpdateBus | None = None,
        observe_batch: BatchObserver | None = None,
        reads: Reads | None = None,
        clock: Clock = utc_now,
        limits: WriteLimits | None = None,
        router: ReadRouter | None = None,
    ) -> "RequestScope":
        """A fresh scope with fresh loaders bound to the principal's visibility.

        ``reads`` is the request's reader (its one connection); by default each read
        takes a pooled connection for itself.
        """
        visibility = Visibility(
            principal.session_filter(),
            principal.visibility_shape(),
            principal.visibility_params(),
        )
        reads = reads or Reads(engine)
        loaders = Loaders(reads, visibility, observe_batch)
        return cls(
            principal,
            engine,
            reads,
            cursors,
            loaders,
            updates or UpdateBus(),
            clock,
            limits or WriteLimits(),
            router,
        )

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (``storage.database.write_transaction``).

        The request's read connection goes back to the pool first, so that a request
        never holds two connections: many concurrent writers each holding a read
        connection while waiting for a second could otherwise drain the pool. Before
        that, the request's credential must be known to stand (``Reads.require``).

        With read replicas, the request's later reads run on the primary, and the
        primary's WAL position after the commit is remembered for the principal, whose
        reads go to a replica only once it has replayed it (``storage.replicas``).
        """
        if not await self.reads.requirement_met():
            raise Unauthenticated(UNKNOWN_TOKEN)
        await self.reads.release()
        async with write_transaction(self.engine) as connection:
            yield connection
        if self.router is not None:
            await self.reads.to_primary()
            await self.router.wrote(self.principal.owner, self.reads)

    async def for_writing(self) -> None:
        """Run this request's reads on the primary: it writes, and reads what it changes."""
        await self.reads.to_primary()

    def now(self) -> datetime:
        """The time to stamp writes with: whole seconds, as every stored timestamp has."""
        return self.clock().replace(microsecond=0)
