"""Live updates: the sessions a subscriber may see and asked for, as they change."""

import uuid
from collections.abc import AsyncIterator, Callable

from loaders.base import fetch_rows
from resolvers.context import RequestScope
from resolvers.sessions import SessionFilter
from storage.models import Session
from storage.queries import select_sessions
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
            statement = select_sessions().where(
                Session.id == changed,
                scope.principal.session_filter(),
                *session_filter.conditions(),
            )
            rows = await fetch_rows(scope.engine, statement)
            if rows:
                yield scope, SessionRecord.from_row(rows[0])
