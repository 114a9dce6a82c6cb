"""Live updates: each change read once, then matched in memory against every subscription.

One ``LiveFeed`` per process reads the numbered change feed (``storage.changes``) when
the bus wakes it: one statement for any number of changes and subscribers. Each
subscription holds a predicate compiled from the same SQL conditions reads use (its
principal's ``session_filter`` and its filter's ``conditions``), so it sees exactly what
a query would show it. The subscribers of one principal share one ``Update`` per change:
one scope (one set of loaders), so what their selections read is read once for all of
them, and one payload per distinct selection (``Update.payload``), built by the first
subscriber that asks and sent as it is to the others. A selection that shows nothing
whose visibility depends on the principal (the session and the catalog) is built once
for the subscribers of every principal the change is visible to.

Updates are the session as it is when read, never older than one already delivered: a
session whose version was already sent is not sent again. While the bus is down every
subscription receives an ``Unavailable`` error and stays open; on reconnect the feed
catches up on every change committed meanwhile.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.registry import BatchObserver
from resolvers.context import RequestScope
from resolvers.cursors import CursorCodec
from resolvers.errors import DomainError, Unauthenticated, Unavailable
from resolvers.scope import Principal
from resolvers.sessions import SessionFilter
from storage.changes import (
    VERSION,
    ChangeCursor,
    latest_change,
    prune_changes,
    read_changes,
    session_row,
)
from storage.models import Session
from storage.predicates import Predicate, compile_predicate
from storage.queries import SESSION_COLUMNS
from storage.records import SessionRow
from storage.updates import UpdateBus, cancel

QUEUE_SIZE = 256
_NAMES = tuple(column.name for column in SESSION_COLUMNS)
_T = TypeVar("_T")
_REMEMBERED_VERSIONS = 50_000
_PRUNE_EVERY_SECONDS = 60.0
logger = logging.getLogger("session_gateway.live")

INTERRUPTED = (
    "live updates are interrupted: the gateway lost its change feed; this subscription "
    "stays open and receives every change committed meanwhile once the feed is back"
)


@dataclass(eq=False, slots=True)
class Update:
    """A changed session for the subscribers of one principal.

    ``scope`` is what their nested fields read through; ``payloads`` holds what their
    selections made of it, each kept under the key of its selection, and ``everyone``
    what the selections that show the same to every principal made of it (one dict for
    all the principals of the change).
    """

    scope: RequestScope
    row: SessionRow
    payloads: "dict[Hashable, asyncio.Future[Any]]" = field(default_factory=dict)
    everyone: "dict[Hashable, asyncio.Future[Any]]" = field(default_factory=dict)

    async def payload(
        self, key: Hashable, build: Callable[[], Awaitable[_T]], everyone: bool = False
    ) -> _T:
        """What ``build()`` returns, built once for every subscriber asking with ``key``.

        The first one starts the build; the others wait for the same result. A subscriber
        that goes away meanwhile does not cancel the build the others wait for. With
        ``everyone`` (a selection that shows every principal the same), the subscribers of
        every principal share it; else those of this update's principal.
        """
        payloads = self.everyone if everyone else self.payloads
        built = payloads.get(key)
        if built is None:
            built = payloads[key] = asyncio.ensure_future(build())
        result: _T = await asyncio.shield(built)
        return result


Delivery = Update | DomainError


@dataclass(eq=False, slots=True)
class LiveSubscription:
    """One open subscription: whose it is, what it matches, and its bounded queue."""

    principal: Principal
    matches: Predicate
    queue: "asyncio.Queue[Delivery]" = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, delivery: Delivery) -> None:
        """Queue without waiting; a slow reader loses its oldest deliveries, never a writer."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(delivery)


class LiveFeed:
    """The reader of the change feed in one process, and that process's subscriptions."""

    def __init__(
        self,
        engine: AsyncEngine,
        bus: UpdateBus,
        cursors: CursorCodec,
        observe_batch: BatchObserver | None = None,
        retention: timedelta = timedelta(hours=1),
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._cursors = cursors
        self._observe_batch = observe_batch
        self._retention = retention
        self._subscriptions: set[LiveSubscription] = set()
        self._delivered: OrderedDict[uuid.UUID, int] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._interrupted = False
        self._pruned_at = 0.0

    @property
    def bus(self) -> UpdateBus:
        """The bus that wakes this feed and carries revocations."""
        return self._bus

    @property
    def ready(self) -> bool:
        """True while changes from every process reach this one's subscribers."""
        return self._bus.ready and not self._interrupted

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open in this process."""
        return len(self._subscriptions)

    async def start(self) -> None:
        """Start the bus, then read the feed from its newest change on."""
        await self._bus.start()
        self._bus.clear()  # a change committed from here on wakes the reader again
        cursor = ChangeCursor(await latest_change(self._engine))
        await self._prune()
        self._task = asyncio.create_task(self._run(cursor))

    async def stop(self) -> None:
        """Stop reading, and stop the bus."""
        await cancel(self._task)
        self._task = None
        await self._bus.stop()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, principal: Principal, *conditions: ColumnElement[bool]
    ) -> AsyncIterator[LiveSubscription]:
        """A subscription to the visible sessions meeting ``conditions``, while the block runs."""
        matches = compile_predicate(and_(principal.session_filter(), *conditions))
        subscription = LiveSubscription(principal, matches)
        if not self.ready:
            subscription.offer(Unavailable(INTERRUPTED))
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def _run(self, cursor: ChangeCursor) -> None:
        while True:
            retry = bool(cursor.gaps) or self._interrupted
            await self._bus.wait(1.0 if retry else None)
            if not self._bus.ready:
                self._interrupt()
                continue
            try:
                await self._catch_up(cursor)
                await self._prune()
            except Exception as error:  # the database is away: tell subscribers, retry
                logger.warning("reading the change feed failed: %s", error)
                self._interrupt()
            else:
                self._interrupted = False

    def _interrupt(self) -> None:
        if not self._interrupted:
            self._interrupted = True
            for subscription in self._subscriptions:
                subscription.offer(Unavailable(INTERRUPTED))

    async def _catch_up(self, cursor: ChangeCursor) -> None:
        while True:
            changes = await read_changes(self._engine, cursor)
            cursor.advance([number for number, _ in changes])
            self._fan_out([values for _, values in changes if values is not None])
            if len(changes) < 1000:
                return

    async def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at >= _PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            await prune_changes(self._engine, self._retention)

    def _fan_out(self, rows: list[Any]) -> None:
        latest: dict[uuid.UUID, Any] = {}
        for values in rows:  # a session changed twice in one read is sent once, as it is now
            latest.pop(values[0], None)
            latest[values[0]] = values
        for session_id, values in latest.items():
            version = values[VERSION]
            if self._delivered.get(session_id, -1) >= version:
                continue  # this state (or a newer one) was already sent
            self._remember(session_id, version)
            columns = dict(zip(_NAMES, values, strict=False))  # the table's, for the predicates
            row = session_row(values)
            updates: dict[Principal, Update] = {}
            everyone: dict[Hashable, asyncio.Future[Any]] = {}
            for subscription in self._subscriptions:
                if subscription.matches(columns):
                    principal = subscription.principal
                    update = updates.get(principal)
                    if update is None:
                        scope = self._open_scope(principal)
                        update = updates[principal] = Update(scope, row, everyone=everyone)
                    subscription.offer(update)

    def _remember(self, session_id: uuid.UUID, version: int) -> None:
        self._delivered[session_id] = version
        self._delivered.move_to_end(session_id)
        if len(self._delivered) > _REMEMBERED_VERSIONS:
            self._delivered.popitem(last=False)

    def _open_scope(self, principal: Principal) -> RequestScope:
        return RequestScope.open(
            principal, self._engine, self._cursors, self._bus, self._observe_batch
        )


async def session_updates(
    feed: LiveFeed,
    principal: Principal,
    session_filter: SessionFilter,
    session_id: uuid.UUID | None = None,
) -> AsyncIterator[Delivery]:
    """Each committed change to a matching, visible session, or an error that keeps it open."""
    conditions = session_filter.conditions()
    if session_id is not None:
        conditions.append(Session.id == session_id)
    async with feed.subscribe(principal, *conditions) as subscription:
        while True:
            delivery = await subscription.queue.get()
            if principal.has_expired():
                raise Unauthenticated(
                    "the bearer token has expired; subscribe again with a new one"
                )
            yield delivery
