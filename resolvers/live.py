"""Live updates: the sessions a subscriber may see and asked for, as they change."""

import uuid
from collections.abc import AsyncIterator, Callable

from resolvers.context import RequestScope
from resolvers.errors import Unauthenticated
from resolvers.sessions import SessionFilter, fetch_visible_session
from storage.records import SessionRecord


async def session_updates(
    open_scope: Callable[[], RequestScope],
    session_filter: SessionFilter,
    session_id: uuid.UUID | None = None,
) -> AsyncIterator[tuple[RequestScope, SessionRecord]]:
    """Yield each committed change to a matching, visible session, with a fresh scope.

    Every notice is checked against the database with the subscriber's visibility and
    filter, so a subscriber sees exactly what a query would show it; every change gets
    a fresh scope so no loader cache outlives one notice.
    """
    bus = open_scope().updates
    async with bus.subscribe() as queue:
        while True:
            changed = await queue.get()
            if session_id is not None and changed != session_id:
                continue
            scope = open_scope()
            if scope.principal.has_expired():
                raise Unauthenticated(
                    "the bearer token has expired; subscribe again with a new one"
                )
            record = await fetch_visible_session(scope, changed, *session_filter.conditions())
            if record is not None:
                yield scope, record
